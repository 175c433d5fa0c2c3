/**
 * Turns terminal input into `input` messages no larger than LIMITS.maxInputBytes.
 * Pure functions (no DOM). Strings are split on UTF-8 byte length, never inside a
 * surrogate pair; a string's UTF-8 size is never below its UTF-16 length, so each
 * chunk also satisfies the server's per-string length check.
 */
import { LIMITS } from '../src/shared/limits.js';

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

export function chunkString(data: string, maxBytes: number = LIMITS.maxInputBytes): string[] {
  if (data.length === 0) return [];
  // Fast path: even at 3 bytes per UTF-16 unit it fits.
  if (data.length * 3 <= maxBytes) return [data];
  const chunks: string[] = [];
  let start = 0;
  let bytes = 0;
  let i = 0;
  while (i < data.length) {
    const cp = data.codePointAt(i) ?? 0;
    const units = cp > 0xffff ? 2 : 1;
    const size = utf8Length(cp);
    if (bytes + size > maxBytes && i > start) {
      chunks.push(data.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += size;
    i += units;
  }
  chunks.push(data.slice(start));
  return chunks;
}

/** xterm's `onBinary` gives a string whose char codes are bytes (e.g. mouse reports). */
export function binaryStringToBytes(data: string): Uint8Array {
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
  return bytes;
}

export function chunkBytes(data: Uint8Array, maxBytes: number = LIMITS.maxInputBytes): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < data.byteLength; offset += maxBytes) {
    // slice copies: a view over a larger buffer could leak the rest of it on some transports.
    chunks.push(data.slice(offset, Math.min(offset + maxBytes, data.byteLength)));
  }
  return chunks;
}
