/**
 * Reading the recordings directory: names and sizes for retention, header fields for the
 * admin list, and where a file's last whole line ends (what the player may be served).
 * Files vanish under us (another worker's sweep): ENOENT means "skip it", never an error.
 */
import { open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingSummary } from '../../shared/admin.js';
import { parseCastName } from './asciicast.js';
import type { RecordingFile } from './retention.js';

/** The admin list shows this many, newest first: enough to browse, bounded to read. */
export const LIST_LIMIT = 1000;
/** A header is a few hundred bytes; one read of this size holds it. */
const HEADER_BYTES = 4096;

const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export async function listCasts(dir: string): Promise<RecordingFile[]> {
  const names = (await readdir(dir)).filter((n) => parseCastName(n));
  const files = await Promise.all(
    names.map((name) =>
      stat(join(dir, name)).then(
        (s) => ({ name, mtimeMs: s.mtimeMs, size: s.size }),
        (err: unknown) => {
          if (gone(err)) return undefined;
          throw err;
        },
      ),
    ),
  );
  return files.filter((f) => f !== undefined);
}

export async function removeIgnoringGone(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if (!gone(err)) throw err;
  });
}

export async function describeCasts(dir: string, isActive: (name: string) => boolean): Promise<RecordingSummary[]> {
  const files = (await listCasts(dir)).sort((a, b) => b.name.localeCompare(a.name)).slice(0, LIST_LIMIT);
  const described = await Promise.all(
    files.map(async (f) => {
      const parsed = parseCastName(f.name)!;
      const header = await readHeader(join(dir, f.name));
      // Another worker of the host may be writing it: only the end marker says it is done.
      const ended = !parsed.incomplete && !isActive(f.name) && (await endsWithMarker(join(dir, f.name), f.size));
      return {
        name: f.name,
        session: parsed.session,
        target: header?.target ?? null,
        client: header?.client ?? null,
        startedAt: header?.startedAt ?? new Date(parsed.startedAt).toISOString(),
        modifiedAt: new Date(f.mtimeMs).toISOString(),
        size: f.size,
        state: parsed.incomplete ? 'incomplete' : ended ? 'complete' : 'recording',
      } satisfies RecordingSummary;
    }),
  );
  return described;
}

/** The end marker line is short; one small read of the tail finds it. */
const TAIL_BYTES = 256;

/** True when the file's last line is the recorder's end marker (`[t, "m", "session ended: …"]`). */
async function endsWithMarker(path: string, size: number): Promise<boolean> {
  try {
    const fh = await open(path, 'r');
    try {
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      const lines = buf.subarray(0, bytesRead).toString('utf8').trimEnd().split('\n');
      return /^\[[0-9.]+, ?"m", ?"session ended: /.test(lines.at(-1) ?? '');
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

interface HeaderFields {
  target: RecordingSummary['target'];
  client: string | null;
  startedAt: string | undefined;
}

async function readHeader(path: string): Promise<HeaderFields | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      const nl = text.indexOf('\n');
      if (nl < 0) return undefined;
      const h = (JSON.parse(text.slice(0, nl)) as { webssh?: { target?: RecordingSummary['target']; client?: string; startedAt?: string } }).webssh;
      return { target: h?.target ?? null, client: h?.client ?? null, startedAt: h?.startedAt };
    } finally {
      await fh.close();
    }
  } catch {
    return undefined; // gone, unreadable or not ours: listed without header fields
  }
}

/**
 * The offset just past the file's last "\n": a recording still being written (or cut
 * short) may end in half a line, which the player would refuse. Reads backwards in
 * blocks, since one event line can be long (a 32 KiB chunk of escapes).
 */
export async function readableEnd(path: string): Promise<number | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (gone(err)) return undefined;
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const block = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - block.length);
      const { bytesRead } = await fh.read(block, 0, end - start, start);
      const nl = block.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl >= 0) return start + nl + 1;
      end = start;
    }
    return 0;
  } finally {
    await fh.close();
  }
}
