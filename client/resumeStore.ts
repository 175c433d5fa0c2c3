/**
 * The sessions this browser may resume (issue 13), in localStorage so a reload or a
 * reopened tab finds them: id, the current resume secret (rotated by the gateway at
 * every attach, so the stored one is always the newest), target and start time for the
 * "Resume user@host (started 10:32)" offer. The secret alone resumes nothing: the
 * gateway also wants this browser's HttpOnly cookie. Entries go when the session ends
 * or a resume is refused; at most MAX_ENTRIES, newest kept.
 */
import type { AttachedMessage } from '../src/shared/protocol.js';

export interface ResumeEntry {
  session: string;
  secret: string;
  target: AttachedMessage['target'];
  startedAt: number;
  detachSeconds: number;
  /** When this page last saw the session attached (epoch ms). */
  seenAt: number;
}

const KEY = 'webssh:resumable';
const MAX_ENTRIES = 8;

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // storage disabled: resume within the page still works
  }
}

function isEntry(v: unknown): v is ResumeEntry {
  const e = v as Partial<ResumeEntry> | null;
  return typeof e === 'object' && e !== null && typeof e.session === 'string' && typeof e.secret === 'string' && typeof e.startedAt === 'number' && typeof e.target === 'object';
}

export function listResumable(): ResumeEntry[] {
  try {
    const raw: unknown = JSON.parse(storage()?.getItem(KEY) ?? '[]');
    return Array.isArray(raw) ? raw.filter(isEntry) : [];
  } catch {
    return [];
  }
}

function write(entries: ResumeEntry[]): void {
  try {
    storage()?.setItem(KEY, JSON.stringify(entries.slice(-MAX_ENTRIES)));
  } catch {
    // quota or disabled storage: nothing to resume after a reload, nothing worse
  }
}

export function remember(msg: AttachedMessage, now = Date.now()): void {
  const entry: ResumeEntry = { session: msg.session, secret: msg.secret, target: msg.target, startedAt: msg.startedAt, detachSeconds: msg.detachSeconds, seenAt: now };
  write([...listResumable().filter((e) => e.session !== msg.session), entry]);
}

export function forget(session: string): void {
  write(listResumable().filter((e) => e.session !== session));
}
