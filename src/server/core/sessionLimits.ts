/**
 * Concurrent-session limits: per client address, per process and in total. A session
 * holds a lease from admission to its end. The process count is always local; the
 * per-address and total counts live in a `LeaseStore`: this Map in one process, a Redis
 * sorted set per count with an expiry per lease across a cluster (redis/sessionLeases.ts),
 * so a process killed with -9 stops counting once its leases are no longer refreshed.
 */

/** 0 means "no limit". */
export interface SessionLimits {
  perClient: number;
  perProcess: number;
  total: number;
}

export type LimitName = keyof SessionLimits;

/** The first limit one more session would exceed, or undefined. Counts exclude it. */
export function limitReached(counts: Partial<Record<LimitName, number>>, limits: SessionLimits): LimitName | undefined {
  for (const name of ['perProcess', 'perClient', 'total'] as const) {
    const count = counts[name];
    if (limits[name] > 0 && count !== undefined && count >= limits[name]) return name;
  }
  return undefined;
}

/** What a refusal tells the user (the code is SESSION_LIMIT): which limit, not whose sessions. */
export function limitDetail(name: LimitName, limits: SessionLimits): string {
  const what = { perClient: 'sessions from your address', perProcess: 'sessions on this gateway process', total: 'sessions on this gateway' }[name];
  return `at most ${limits[name]} ${what}`;
}

export interface Lease {
  id: string;
  client: string;
}

export interface LeaseStore {
  /** Adds `lease` unless the per-client or total limit is reached (atomically); names the limit it hit. */
  tryAdd(lease: Lease, limits: SessionLimits): Promise<LimitName | undefined>;
  remove(lease: Lease): Promise<void>;
  /** Extends live leases (a cluster store expires leases that stop being refreshed). */
  refresh(leases: Lease[]): Promise<void>;
}

/** One process, no Redis: the process's own leases are the whole picture. */
export class MemoryLeaseStore implements LeaseStore {
  readonly #byClient = new Map<string, Set<string>>();
  #total = 0;

  tryAdd(lease: Lease, limits: SessionLimits): Promise<LimitName | undefined> {
    const ids = this.#byClient.get(lease.client) ?? new Set<string>();
    const hit = limitReached({ perClient: ids.size, total: this.#total }, limits);
    if (!hit) {
      ids.add(lease.id);
      this.#byClient.set(lease.client, ids);
      this.#total++;
    }
    return Promise.resolve(hit);
  }

  remove(lease: Lease): Promise<void> {
    const ids = this.#byClient.get(lease.client);
    if (ids?.delete(lease.id)) {
      this.#total--;
      if (ids.size === 0) this.#byClient.delete(lease.client);
    }
    return Promise.resolve();
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }
}
