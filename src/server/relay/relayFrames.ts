/**
 * The frames gateway processes exchange to relay a terminal (relay/): a page whose
 * socket reached one process (the visitor) uses a terminal another process owns.
 * Pure encoding, no I/O. A frame is a JSON head, a newline, and raw bytes for output
 * and input (JSON never contains a raw newline, so the first one ends the head).
 *
 * Frames come from our own processes through Redis, yet a bad one must cost nothing:
 * `decodeFrame` returns undefined for anything malformed, and handlers check the fields
 * they use.
 */
import type { ErrorInfo } from '../../shared/errors.js';
import type { TermSize } from '../../shared/schemas.js';

/** Sent to every process: "whoever owns `session`, attach this page to it". */
export interface FindBody {
  t: 'find';
  relay: string;
  session: string;
  /** A page resuming: hex digests of its browser cookie and of the resume secret. */
  resume?: { cookie: string; secret: string; offset?: number; size: TermSize };
  /** An operator watching, read-only (its token was checked by the visitor). */
  watch?: true;
}

/** Sent to every process: "who holds this terminal's files, or this download ticket?" (relay/fileRelay.ts). */
export interface WhereBody {
  t: 'where';
  relay: string;
  session?: string;
  ticket?: string;
}

/** What a frame says; the bus adds `from`, the sender's node key, where answers go. */
export type FrameBody =
  | FindBody
  | WhereBody
  /** The answer of the process that holds what a `where` asked: its internal file address. */
  | { t: 'here'; relay: string; url: string }
  /** Answers to a find: not here; refused or ended (with why); attached (the sender owns it). */
  | { t: 'none'; relay: string }
  | { t: 'refused'; relay: string; info: ErrorInfo }
  | { t: 'ok'; relay: string }
  /** Owner to visitor: an event for the page; `out` carries output bytes. */
  | { t: 'ev'; relay: string; e: string; a: unknown[] }
  | { t: 'out'; relay: string }
  /** Visitor to owner: what the page did; `in` carries input bytes. */
  | { t: 'in'; relay: string }
  | { t: 'resize'; relay: string; size: TermSize }
  | { t: 'ack'; relay: string; n: number }
  | { t: 'delivered'; relay: string; n: number }
  | { t: 'end'; relay: string }
  /** The page's socket closed (visitor to owner), or the relay is over (either way). */
  | { t: 'gone'; relay: string };

export type RelayFrame = FrameBody & { from: string };
export type FindFrame = FindBody & { from: string };
export type WhereFrame = WhereBody & { from: string };

const NL = 0x0a;

export function encodeFrame(frame: RelayFrame, payload?: Uint8Array | string): Buffer {
  const head = Buffer.from(JSON.stringify(frame));
  if (payload === undefined) return head;
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([head, Buffer.of(NL), body]);
}

export function decodeFrame(message: Buffer): { frame: RelayFrame; payload: Buffer } | undefined {
  const nl = message.indexOf(NL);
  const head = nl === -1 ? message : message.subarray(0, nl);
  let frame: unknown;
  try {
    frame = JSON.parse(head.toString());
  } catch {
    return undefined;
  }
  if (typeof frame !== 'object' || frame === null) return undefined;
  const f = frame as { t?: unknown; relay?: unknown; from?: unknown };
  if (typeof f.t !== 'string' || typeof f.relay !== 'string' || typeof f.from !== 'string') return undefined;
  return { frame: frame as RelayFrame, payload: nl === -1 ? Buffer.alloc(0) : message.subarray(nl + 1) };
}

/** A count from a frame: a finite, non-negative number, else 0. */
export function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}
