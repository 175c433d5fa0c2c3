/**
 * Why recently ended resumable sessions ended, so a page that comes back late (after the
 * detach window, after `exit` while it was offline) learns the real reason instead of a
 * bare refusal. Only the owner learns it: the same cookie and secret checks as a resume.
 * Bounded in count and age; nothing here outlives `keepMs`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ErrorInfo } from '../../shared/errors.js';
import { digest } from '../http/browserCookie.js';

export interface ResumeProof {
  owner: Buffer;
  secretHash: Buffer;
}

/** Digests of the browser cookie and the secret; both compared, always: no early exit tells which one was wrong. */
export function proves(proof: ResumeProof, cookie: Buffer, secret: Buffer): boolean {
  if (cookie.length !== proof.owner.length || secret.length !== proof.secretHash.length) return false;
  const ownerOk = timingSafeEqual(cookie, proof.owner);
  const secretOk = timingSafeEqual(secret, proof.secretHash);
  return ownerOk && secretOk;
}

interface Tombstone {
  proof: ResumeProof;
  info: ErrorInfo;
  at: number;
}

export class EndedTerminals {
  readonly #entries = new Map<string, Tombstone>();

  constructor(
    private readonly keepMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  add(id: string, proof: ResumeProof, info: ErrorInfo): void {
    const now = this.now();
    // Insertion order is age order: drop from the front.
    for (const [key, t] of this.#entries) {
      if (now - t.at < this.keepMs && this.#entries.size < this.maxEntries) break;
      this.#entries.delete(key);
    }
    this.#entries.set(id, { proof, info, at: now });
  }

  /** How the session ended, for its owner only; undefined for anyone else or when forgotten. */
  reason(id: string, cookie: string | undefined, secret: string): ErrorInfo | undefined {
    return cookie === undefined ? undefined : this.reasonForDigests(id, digest(cookie), digest(secret));
  }

  /** The same, from the digests a relay carries (relay/relayOwner.ts). */
  reasonForDigests(id: string, cookie: Buffer, secret: Buffer): ErrorInfo | undefined {
    const t = this.#entries.get(id);
    if (!t || this.now() - t.at >= this.keepMs) return undefined;
    return proves(t.proof, cookie, secret) ? t.info : undefined;
  }
}
