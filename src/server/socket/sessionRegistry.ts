/**
 * The terminal sessions this process runs, so shutdown and operators can reach them.
 * The cluster-wide view is built from every process's `summaries()` (see
 * cluster/clusterControl.ts).
 */
import { EventEmitter } from 'node:events';
import type { NodeIdentity, SessionSummary } from '../../shared/admin.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { SshSession } from '../ssh/sshSession.js';
import type { LiveTerminal } from './liveTerminal.js';

export interface SessionMeta {
  /** The browser's address (after trusted proxies). */
  client: string;
  /** Its attachment to a page (socket/liveTerminal.ts). */
  terminal?: LiveTerminal;
}

/** Bytes and flow-control time of every session this process ran, ended or live. */
export interface SessionTraffic {
  /** Keystrokes and pastes sent to SSH. */
  bytesIn: number;
  /** Output received from SSH (and passed on to the browser). */
  bytesOut: number;
  /** Time the remotes waited on a closed window (core/flowControl.ts). */
  windowClosedMs: number;
}

/** Emits `change` after every add or delete. */
export class SessionRegistry extends EventEmitter<{ change: [] }> {
  readonly #sessions = new Map<SshSession, SessionMeta>();
  /** What ended sessions carried, moved here as each leaves so the sums never go down. */
  readonly #ended: SessionTraffic = { bytesIn: 0, bytesOut: 0, windowClosedMs: 0 };

  add(session: SshSession, meta: SessionMeta): void {
    this.#sessions.set(session, meta);
    this.emit('change');
  }

  delete(session: SshSession): void {
    if (!this.#sessions.delete(session)) return;
    this.#ended.bytesIn += session.bytesIn;
    this.#ended.bytesOut += session.flow.totals.sent;
    this.#ended.windowClosedMs += session.flow.windowClosedMs;
    this.emit('change');
  }

  /** Totals since this process started, read at scrape time (observe/metrics.ts). */
  traffic(): SessionTraffic {
    const sum = { ...this.#ended };
    for (const s of this.#sessions.keys()) {
      sum.bytesIn += s.bytesIn;
      sum.bytesOut += s.flow.totals.sent;
      sum.windowClosedMs += s.flow.windowClosedMs;
    }
    return sum;
  }

  /** Live sessions, and how many of them wait detached for a page (issue 13). */
  counts(): { live: number; detached: number } {
    let detached = 0;
    for (const meta of this.#sessions.values()) if (meta.terminal && !meta.terminal.attached) detached++;
    return { live: this.#sessions.size, detached };
  }

  get size(): number {
    return this.#sessions.size;
  }

  list(): SshSession[] {
    return [...this.#sessions.keys()];
  }

  find(id: string): SshSession | undefined {
    return this.list().find((s) => s.id === id);
  }

  /** The live terminal of session `id` on this process. */
  terminal(id: string): LiveTerminal | undefined {
    for (const [s, meta] of this.#sessions) if (s.id === id) return meta.terminal;
    return undefined;
  }

  /** Every live terminal of this process. */
  terminals(): LiveTerminal[] {
    return [...this.#sessions.values()].flatMap((m) => (m.terminal ? [m.terminal] : []));
  }

  summaries(node: NodeIdentity): SessionSummary[] {
    return [...this.#sessions].map(([s, meta]) => ({
      id: s.id,
      node,
      client: meta.client,
      target: s.target ?? null,
      startedAt: new Date(s.startedAt).toISOString(),
      bytesIn: s.bytesIn,
      bytesOut: s.flow.totals.sent,
      attached: meta.terminal?.attached ?? true,
      detachedSince: meta.terminal?.detachedSince === undefined ? null : new Date(meta.terminal.detachedSince).toISOString(),
      watchers: meta.terminal?.watchers ?? 0,
    }));
  }

  endAll(code: ErrorCode): void {
    for (const s of this.#sessions.keys()) s.end(code);
  }
}
