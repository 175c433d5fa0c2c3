/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/), pure: the header line,
 * the event lines, and the file names recordings get. No I/O; the recorder writes what
 * these return. Every line ends with "\n" (newline-delimited JSON), so a file cut short
 * at a line boundary is still a valid recording.
 */
import type { TermSize } from '../../shared/schemas.js';
import type { SessionRef } from '../observe/gatewayEvents.js';

export interface CastHeaderInfo extends SessionRef {
  size: TermSize;
  /** ms since the epoch: when the shell opened. */
  startedAt: number;
  term: string;
}

/**
 * The spec's keys first (width, height, timestamp, env, title), then ours under `webssh`:
 * players ignore keys they do not know (asciinema-player reads only the spec's ones).
 */
export function castHeader(info: CastHeaderInfo): string {
  const { username, host, port } = info.target;
  return `${JSON.stringify({
    version: 2,
    width: info.size.cols,
    height: info.size.rows,
    timestamp: Math.floor(info.startedAt / 1000),
    env: { TERM: info.term },
    title: `${username}@${host}:${port}`,
    webssh: { session: info.session, client: info.client, target: { username, host, port }, startedAt: new Date(info.startedAt).toISOString() },
  })}\n`;
}

export type CastEventCode = 'o' | 'i' | 'r' | 'm';

/** `[seconds, code, data]`; seconds with microsecond precision, as asciinema writes them. */
export function castEvent(seconds: number, code: CastEventCode, data: string): string {
  return `${JSON.stringify([Math.round(seconds * 1e6) / 1e6, code, data])}\n`;
}

export const resizeData = (size: TermSize): string => `${size.cols}x${size.rows}`;

/**
 * `20261201T220939Z-<session uuid>.cast`: sorts by start time, unique across every worker
 * sharing the directory (the session id is a random UUID), and safe in any file system.
 * A recording cut short is renamed to `….incomplete.cast`, so listings and operators see
 * it without opening the file.
 */
export function castFileName(session: string, startedAt: number): string {
  const stamp = new Date(startedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${session}.cast`;
}

export const incompleteName = (name: string): string => name.replace(/\.cast$/, '.incomplete.cast');

/** The only names the admin endpoint serves: no path separators, no dots but ours. */
const NAME = /^(\d{8}T\d{6}Z)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.incomplete)?\.cast$/;

export interface ParsedCastName {
  session: string;
  /** ms since the epoch, to the second. */
  startedAt: number;
  incomplete: boolean;
}

export function parseCastName(name: string): ParsedCastName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const s = m[1]!;
  const startedAt = Date.parse(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`);
  if (Number.isNaN(startedAt)) return undefined;
  return { session: m[2]!, startedAt, incomplete: m[3] !== undefined };
}
