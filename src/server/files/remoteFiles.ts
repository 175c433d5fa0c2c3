/**
 * The remote file operations the panel needs, as promises over one SFTP channel
 * (ssh2's SFTPWrapper). Paths are the user's own, with the SSH account's permissions:
 * the gateway adds no access of its own and resolves nothing locally.
 */
import type { Stats } from 'node:fs';
import type { SFTPWrapper } from 'ssh2';
import { codedError } from '../ssh/sshSession.js';

export type EntryKind = 'file' | 'dir' | 'link' | 'other';

export interface RemoteEntry {
  name: string;
  kind: EntryKind;
  /** For a link: what it points at (`file`, `dir`, or undefined when dangling). */
  target?: EntryKind;
  size: number;
  /** Epoch milliseconds. */
  mtime: number;
}

export interface Listing {
  path: string;
  entries: RemoteEntry[];
}

type Attrs = Pick<Stats, 'mode' | 'size' | 'mtime'> & { mode: number; size: number; mtime: number };

const S_IFMT = 0o170000;
export function kindOf(mode: number): EntryKind {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'link';
    default:
      return 'other';
  }
}

const call = <T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

export const realpath = (sftp: SFTPWrapper, path: string) => call<string>((cb) => sftp.realpath(path, cb));
export const stat = (sftp: SFTPWrapper, path: string) => call<Attrs>((cb) => sftp.stat(path, cb as never));
export const mkdir = (sftp: SFTPWrapper, path: string) => call<void>((cb) => sftp.mkdir(path, cb as never));
export const unlink = (sftp: SFTPWrapper, path: string) => call<void>((cb) => sftp.unlink(path, cb));
export const rmdir = (sftp: SFTPWrapper, path: string) => call<void>((cb) => sftp.rmdir(path, cb));

/** Stat, or undefined when nothing is there. */
export async function statIfAny(sftp: SFTPWrapper, path: string): Promise<Attrs | undefined> {
  try {
    return await stat(sftp, path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 2) return undefined;
    throw err;
  }
}

/** A directory's entries, directories first, then by name; `path` resolved (`.` is the login directory). */
export async function list(sftp: SFTPWrapper, path: string): Promise<Listing> {
  const resolved = await realpath(sftp, path);
  const attrs = await stat(sftp, resolved);
  if (kindOf(attrs.mode) !== 'dir') throw codedError('NOT_A_DIRECTORY', resolved);
  const raw = await call<{ filename: string; attrs: Attrs }[]>((cb) => sftp.readdir(resolved, cb as never));
  const entries = await Promise.all(
    raw
      .filter((e) => e.filename !== '.' && e.filename !== '..')
      .map(async (e): Promise<RemoteEntry> => {
        const kind = kindOf(e.attrs.mode);
        const entry: RemoteEntry = { name: e.filename, kind, size: e.attrs.size, mtime: e.attrs.mtime * 1000 };
        if (kind === 'link') {
          const to = await statIfAny(sftp, joinPath(resolved, e.filename)).catch(() => undefined);
          if (to) entry.target = kindOf(to.mode);
        }
        return entry;
      }),
  );
  const rank = (e: RemoteEntry) => (e.kind === 'dir' || e.target === 'dir' ? 0 : 1);
  entries.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  return { path: resolved, entries };
}

/** Renames, replacing an existing target when `overwrite` (OpenSSH's posix-rename). */
export async function rename(sftp: SFTPWrapper, from: string, to: string, overwrite: boolean): Promise<void> {
  if (!overwrite) {
    if (await statIfAny(sftp, to)) throw codedError('FILE_EXISTS', to);
    return call<void>((cb) => sftp.rename(from, to, cb));
  }
  return call<void>((cb) => sftp.ext_openssh_rename(from, to, cb));
}

/** Free bytes for an unprivileged user where `path` lives, when the server tells (statvfs@openssh.com). */
export async function freeBytes(sftp: SFTPWrapper, path: string): Promise<number | undefined> {
  try {
    // ssh2 names the fields as statvfs(2) does.
    const vfs = await call<{ f_bavail: number; f_frsize: number }>((cb) => sftp.ext_openssh_statvfs(path, cb as never));
    return Number(vfs.f_bavail) * Number(vfs.f_frsize);
  } catch {
    return undefined;
  }
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
