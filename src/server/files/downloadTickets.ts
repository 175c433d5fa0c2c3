/**
 * Download links. The browser's download manager fetches a plain GET, with no header of
 * ours, and comes back with `Range` to resume; so a download is a ticket in the URL, made
 * by an authorised request of the page. A ticket names one file of one session, works
 * only with the browser cookie that asked for it (a leaked link is useless elsewhere),
 * and expires. Bounded in count; nothing outlives `ttlMs`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Ticket {
  session: string;
  path: string;
  /** SHA-256 of the browser cookie that asked for it. */
  owner: Buffer;
  expires: number;
}

export class DownloadTickets {
  readonly #tickets = new Map<string, Ticket>();

  constructor(
    private readonly ttlMs = 3_600_000,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(session: string, path: string, owner: Buffer): string {
    const now = this.now();
    for (const [id, t] of this.#tickets) {
      if (t.expires > now && this.#tickets.size < this.max) break;
      this.#tickets.delete(id); // insertion order is age order
    }
    const id = randomBytes(24).toString('base64url');
    this.#tickets.set(id, { session, path, owner, expires: now + this.ttlMs });
    return id;
  }

  /** Whether this process issued `id` and it is still valid (for the file relay's `where`). */
  has(id: string): boolean {
    const t = this.#tickets.get(id);
    return t !== undefined && t.expires > this.now();
  }

  /** The ticket, if it exists, has not expired and `owner` is the cookie that asked for it. */
  use(id: string, owner: Buffer | undefined): Ticket | undefined {
    const t = this.#tickets.get(id);
    if (!t || !owner || t.expires <= this.now()) return undefined;
    return owner.length === t.owner.length && timingSafeEqual(owner, t.owner) ? t : undefined;
  }
}
