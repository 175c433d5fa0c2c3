/**
 * `crypto.randomUUID()` as one flat string. Node builds a UUID from 20 concatenated
 * pieces, and V8 keeps such a result as a rope of 20 string objects (~450 bytes of heap
 * instead of ~60) until something flattens it; a session id or a lease id lives as long
 * as its terminal, so each terminal carried two of them (heap snapshot, issue 11).
 * Decoding a copy of its bytes gives one sequential string (checked with
 * `%DebugPrint`; `[id].join('')`, `slice` and `Number(id)` all keep the rope).
 */
import { randomUUID } from 'node:crypto';

export function flatUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}
