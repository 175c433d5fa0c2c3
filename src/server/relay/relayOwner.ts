/**
 * The owner's end of the relay: this process holds the SSH session; a page reached
 * another process (the visitor, relay/relayVisitor.ts). A find for a session this
 * process runs is checked here, against the same proof a local resume needs (digests of
 * the browser cookie and of the current resume secret), and a yes attaches a peer that
 * sends everything the terminal emits to the visitor's node channel.
 *
 * Every relay the owner serves has an end: the page takes the session elsewhere or ends
 * it, the visitor says its socket closed, or the visitor's process is gone (a publish
 * reaches nobody, or the liveness check finds no subscriber). Each ends in `peerGone`,
 * which detaches the terminal as a dropped local socket would.
 */
import { errorInfo } from '../../shared/errors.js';
import { sizeSchema, type TermSize } from '../../shared/schemas.js';
import type { Logger } from '../log.js';
import type { EndedTerminals } from '../socket/endedTerminals.js';
import type { LiveTerminal } from '../socket/liveTerminal.js';
import type { SessionRegistry } from '../socket/sessionRegistry.js';
import type { TerminalPeer } from '../socket/terminalPeer.js';
import type { RelayBus } from './relayBus.js';
import { count, type FindFrame, type FrameBody, type RelayFrame } from './relayFrames.js';

interface Served {
  live: LiveTerminal;
  peer: TerminalPeer;
  /** The visitor's node. */
  node: string;
  /** Output bytes the visitor reports delivered to its page. */
  delivered: (bytes: number) => void;
  /** A watcher (read-only): its frames may not type, resize, ack or end anything. */
  watcher: boolean;
  stop: () => void;
}

export interface RelayOwnerDeps {
  bus: RelayBus;
  registry: SessionRegistry;
  endedTerminals: EndedTerminals;
  log: Logger;
}

export class RelayOwner {
  readonly #served = new Map<string, Served>();

  constructor(private readonly deps: RelayOwnerDeps) {}

  get size(): number {
    return this.#served.size;
  }

  /** Visitor nodes this process relays to, for the liveness check. */
  nodes(): string[] {
    return [...new Set([...this.#served.values()].map((s) => s.node))];
  }

  onFind(f: FindFrame): void {
    const { bus, registry, endedTerminals, log } = this.deps;
    if (typeof f.session !== 'string') return;
    const reply = (frame: FrameBody) => void bus.send(f.from, frame).catch(() => undefined);
    const live = registry.terminal(f.session);
    if (f.watch) {
      if (!live) return reply({ t: 'none', relay: f.relay });
      reply({ t: 'ok', relay: f.relay });
      return this.#serve(f, live, true);
    }
    const r = f.resume;
    const cookie = r && hexDigest(r.cookie);
    const secret = r && hexDigest(r.secret);
    if (!live) {
      const late = cookie && secret ? endedTerminals.reasonForDigests(f.session, cookie, secret) : undefined;
      return reply(late ? { t: 'refused', relay: f.relay, info: late } : { t: 'none', relay: f.relay });
    }
    if (!r || !cookie || !secret || !live.mayResumeDigests(cookie, secret)) {
      log.warn('relayed resume refused', { code: 'RESUME_REFUSED', session: f.session });
      return reply({ t: 'refused', relay: f.relay, info: errorInfo('RESUME_REFUSED') });
    }
    reply({ t: 'ok', relay: f.relay });
    this.#serve(f, live, false);
  }

  /** A frame from a visitor; false when it is not about a relay this process serves. */
  onFrame(f: RelayFrame, payload: Buffer): boolean {
    const s = this.#served.get(f.relay);
    if (!s || s.node !== f.from) return false;
    if (f.t === 'delivered') s.delivered(count(f.n));
    else if (f.t === 'gone') this.#lost(f.relay, 'relayed socket closed');
    else if (s.watcher) return true; // a watcher is read-only, whatever it sends
    else if (f.t === 'in') {
      s.live.touch();
      s.live.session.write(payload);
    } else if (f.t === 'ack') s.live.ack(count(f.n));
    else if (f.t === 'resize') {
      const size = parseSize(f.size);
      if (size) s.live.session.resize(size);
    }
    else if (f.t === 'end') s.live.session.end('USER_CLOSED');
    return true;
  }

  /** The visitor's process is gone: its pages are gone with it. */
  nodeGone(node: string): void {
    for (const [relay, s] of this.#served) if (s.node === node) this.#lost(relay, 'relaying process gone');
  }

  /** Ends every relay (this process is closing; its sessions end anyway). */
  close(): void {
    for (const relay of [...this.#served.keys()]) this.#lost(relay, 'gateway closing');
  }

  #serve(f: FindFrame, live: LiveTerminal, watcher: boolean): void {
    const { bus, log } = this.deps;
    const relay = f.relay;
    let onDelivered: (bytes: number) => void = () => undefined;
    const lost = () => this.#lost(relay, 'relaying process unreachable');
    const send = (frame: FrameBody, payload?: Uint8Array) => {
      bus.send(f.from, frame, payload).then(
        (receivers) => receivers === 0 && lost(),
        () => lost(),
      );
    };
    const peer: TerminalPeer = {
      emit: (event, ...args) => {
        if (event === 'output') send({ t: 'out', relay }, args[0] as Uint8Array);
        else send({ t: 'ev', relay, e: event, a: args });
      },
      watchDelivery: (delivered) => {
        onDelivered = delivered;
        return () => (onDelivered = () => undefined);
      },
      // The visitor's socket joins the notices room on its own process.
      joinNotices: () => undefined,
      leaveNotices: () => undefined,
    };
    const served: Served = { live, peer, node: f.from, delivered: (n) => onDelivered(n), watcher, stop: () => undefined };
    this.#served.set(relay, served);
    const released = () => void this.#served.delete(relay);
    if (watcher) served.stop = live.watch(peer, released);
    else {
      const r = f.resume!;
      served.stop = () => live.peerGone(peer, 'relay ended');
      live.takeOver(peer, { offset: r.offset, size: parseSize(r.size) ?? { cols: 80, rows: 24 } }, released);
    }
    log.info(watcher ? 'terminal watched through relay' : 'terminal resumed through relay', { session: live.session.id, relay });
  }

  #lost(relay: string, reason: string): void {
    const s = this.#served.get(relay);
    if (!s) return;
    this.#served.delete(relay);
    this.deps.log.info('relay ended', { session: s.live.session.id, relay, reason });
    s.stop();
  }
}

function hexDigest(hex: unknown): Buffer | undefined {
  return typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

function parseSize(size: unknown): TermSize | undefined {
  const parsed = sizeSchema.safeParse(size);
  return parsed.success ? parsed.data : undefined;
}
