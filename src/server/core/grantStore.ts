/**
 * Where sealed credential grants wait for their socket: one entry per HTTP session id,
 * with the grant's own lifetime. `take` is the single-use point: it removes and returns
 * the entry in one step (a synchronous Map delete here, GETDEL in Redis), so of any
 * number of sockets, in any number of processes, that race for one grant exactly one
 * gets it. Never read a grant from a session object cached at the socket handshake.
 */
import type { SealedGrant } from './credentialGrant.js';

export interface GrantStore {
  /** Stores `grant` for `sessionId`, gone after `ttlMs` whether taken or not. */
  put(sessionId: string, grant: SealedGrant, ttlMs: number): Promise<void>;
  /** Removes and returns the grant; undefined when there is none. Rejects when the store cannot answer. */
  take(sessionId: string): Promise<SealedGrant | undefined>;
}

/** One process, no Redis: a Map whose entries expire with their grants. */
export class MemoryGrantStore implements GrantStore {
  readonly #grants = new Map<string, { grant: SealedGrant; timer: NodeJS.Timeout }>();

  put(sessionId: string, grant: SealedGrant, ttlMs: number): Promise<void> {
    this.#remove(sessionId);
    const timer = setTimeout(() => this.#remove(sessionId), ttlMs).unref();
    this.#grants.set(sessionId, { grant, timer });
    return Promise.resolve();
  }

  take(sessionId: string): Promise<SealedGrant | undefined> {
    return Promise.resolve(this.#remove(sessionId)); // get and delete in one synchronous step
  }

  /** The grants waiting now (tests inspect what is stored). */
  list(): SealedGrant[] {
    return [...this.#grants.values()].map((e) => e.grant);
  }

  #remove(sessionId: string): SealedGrant | undefined {
    const entry = this.#grants.get(sessionId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.#grants.delete(sessionId);
    return entry.grant;
  }
}
