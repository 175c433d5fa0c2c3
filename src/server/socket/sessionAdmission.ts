/**
 * Admits a session under the limits (core/sessionLimits.ts) and keeps its lease until
 * the session ends. The per-process count is this object's own; the others are the
 * lease store's. It owns the heartbeat that keeps this process's leases alive in a
 * cluster store; `close()` stops it. A store that cannot answer refuses new sessions
 * (SERVICE_UNAVAILABLE, like a login), and never touches live ones.
 */
import { flatUuid } from '../core/flatUuid.js';
import type { ErrorCode } from '../../shared/errors.js';
import { limitDetail, limitReached, type Lease, type LeaseStore, type SessionLimits } from '../core/sessionLimits.js';
import type { Logger } from '../log.js';

export type Admission = { ok: true; release: () => void } | { ok: false; code: ErrorCode; detail?: string };

export class SessionAdmission {
  readonly #leases = new Map<string, Lease>();
  readonly #heartbeat: NodeJS.Timeout | undefined;
  /** Removals still on their way to the store: `close()` waits for them. */
  readonly #removals = new Set<Promise<void>>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly store: LeaseStore,
    private readonly log: Logger,
    /** How often leases are refreshed; undefined for a store that never expires them. */
    heartbeatMs?: number,
  ) {
    if (heartbeatMs !== undefined) {
      this.#heartbeat = setInterval(() => this.#refresh(), heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** Sessions admitted here and not yet released (starting ones included). */
  get size(): number {
    return this.#leases.size;
  }

  async admit(client: string): Promise<Admission> {
    const lease: Lease = { id: flatUuid(), client };
    // Claimed before the first await: concurrent starts on this process see it.
    if (limitReached({ perProcess: this.#leases.size }, this.limits)) return this.#refused('perProcess', client);
    this.#leases.set(lease.id, lease);
    let hit: keyof SessionLimits | undefined;
    try {
      hit = await this.store.tryAdd(lease, this.limits);
    } catch (err) {
      this.#leases.delete(lease.id);
      this.log.warn('session counts unavailable', { code: 'SERVICE_UNAVAILABLE', err });
      return { ok: false, code: 'SERVICE_UNAVAILABLE' };
    }
    if (hit) {
      this.#leases.delete(lease.id);
      return this.#refused(hit, client);
    }
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#leases.delete(lease.id);
        // A failed removal only delays: an unrefreshed lease expires on its own.
        const removal = this.store.remove(lease).catch((err: unknown) => this.log.warn('session lease not released', { err }));
        this.#removals.add(removal);
        void removal.finally(() => this.#removals.delete(removal));
      },
    };
  }

  /** Stops the heartbeat and waits for pending removals (call before the store's connection closes). */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    await Promise.all(this.#removals);
  }

  #refused(limit: keyof SessionLimits, client: string): Admission {
    this.log.warn('session refused: limit reached', { code: 'SESSION_LIMIT', limit, max: this.limits[limit], client });
    return { ok: false, code: 'SESSION_LIMIT', detail: limitDetail(limit, this.limits) };
  }

  #refresh(): void {
    if (this.#leases.size === 0) return;
    this.store.refresh([...this.#leases.values()]).catch((err: unknown) => this.log.warn('session leases not refreshed', { err }));
  }
}
