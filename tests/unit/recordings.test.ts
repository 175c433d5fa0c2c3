/**
 * Recordings' pure parts (issue 15): asciicast v2 lines and names, retention's choice,
 * and the recorder against in-memory streams (UTF-8 split across chunks, input only
 * when asked, a stalled disk stops the recording at the buffer cap instead of queueing).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { castEvent, castFileName, castHeader, incompleteName, parseCastName } from '../../src/server/recordings/asciicast.js';
import { CastRecorder } from '../../src/server/recordings/recorder.js';
import { selectForDeletion, type RecordingFile } from '../../src/server/recordings/retention.js';

const SESSION = '0b7c1f5e-3a0d-4c1e-9f57-5d4f0c8a2b61';
const target = { username: 'alice', host: '10.0.0.5', port: 22 };

describe('asciicast v2 lines', () => {
  it('writes a header with the spec keys and ours, one line', () => {
    const line = castHeader({ session: SESSION, client: '127.0.0.1', target, size: { cols: 91, rows: 33 }, startedAt: Date.UTC(2026, 11, 1, 22, 9, 39, 500), term: 'xterm-256color' });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({
      version: 2,
      width: 91,
      height: 33,
      timestamp: Date.UTC(2026, 11, 1, 22, 9, 39) / 1000,
      env: { TERM: 'xterm-256color' },
      title: 'alice@10.0.0.5:22',
      webssh: { session: SESSION, client: '127.0.0.1', target, startedAt: '2026-12-01T22:09:39.500Z' },
    });
  });

  it('escapes control characters and keeps microseconds', () => {
    const line = castEvent(1.23456789, 'o', '\x1b[31mred\r\n"q"\u2028');
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual([1.234568, 'o', '\x1b[31mred\r\n"q"\u2028']);
  });

  it('names files by start time and session, and accepts only that shape', () => {
    const name = castFileName(SESSION, Date.UTC(2026, 11, 1, 22, 9, 39, 500));
    expect(name).toBe(`20261201T220939Z-${SESSION}.cast`);
    expect(parseCastName(name)).toEqual({ session: SESSION, startedAt: Date.UTC(2026, 11, 1, 22, 9, 39), incomplete: false });
    expect(parseCastName(incompleteName(name))).toMatchObject({ incomplete: true });
    for (const bad of ['../x.cast', `../${name}`, `${name}/`, `x/${name}`, name.replace('.cast', '.txt'), name.toUpperCase(), `.${name}`, `20261301T220939Z-${SESSION}.cast`, `${name}\0`, '']) {
      expect(parseCastName(bad), bad).toBeUndefined();
    }
  });
});

describe('retention', () => {
  const day = 86_400_000;
  const now = 100 * day;
  const f = (name: string, ageDays: number, size: number): RecordingFile => ({ name, mtimeMs: now - ageDays * day, size });

  it('deletes what is older than the age limit, never an active recording', () => {
    const files = [f('a', 40, 1), f('b', 31, 1), f('c', 29, 1), f('live', 90, 1)];
    expect(selectForDeletion(files, { maxAgeMs: 30 * day, maxBytes: 0 }, now, new Set(['live']))).toEqual(['a', 'b']);
  });

  it('then deletes oldest first until the total fits, counting active bytes', () => {
    const files = [f('new', 1, 300), f('old', 5, 300), f('mid', 3, 300), f('live', 9, 300)];
    // 1200 bytes, limit 700: "live" cannot go, so "old" and "mid" do (600 left).
    expect(selectForDeletion(files, { maxAgeMs: 0, maxBytes: 700 }, now, new Set(['live']))).toEqual(['old', 'mid']);
    expect(selectForDeletion(files, { maxAgeMs: 0, maxBytes: 1200 }, now, new Set())).toEqual([]);
    expect(selectForDeletion(files, { maxAgeMs: 0, maxBytes: 0 }, now, new Set())).toEqual([]);
  });

  it('age first, then size over what remains', () => {
    const files = [f('ancient', 60, 1000), f('a', 3, 400), f('b', 2, 400), f('c', 1, 400)];
    expect(selectForDeletion(files, { maxAgeMs: 30 * day, maxBytes: 800 }, now, new Set())).toEqual(['ancient', 'a']);
  });

  it('breaks mtime ties by name, so every worker picks the same file', () => {
    const files = [f('z', 2, 10), f('y', 2, 10)];
    expect(selectForDeletion(files, { maxAgeMs: 0, maxBytes: 10 }, now, new Set())).toEqual(['y']);
  });
});

/**
 * A stream that keeps what it is given; `stall` makes a write hang until `fail()`, which
 * ends it with EIO (a disk that stopped answering, then gave up).
 */
function memoryStream(stall = false): Writable & { text(): string; fail(): void } {
  const parts: Buffer[] = [];
  let pending: ((err?: Error) => void) | undefined;
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (stall) return void (pending = cb);
      parts.push(chunk);
      cb();
    },
  });
  return Object.assign(w, {
    text: () => Buffer.concat(parts).toString('utf8'),
    fail: () => pending?.(Object.assign(new Error('I/O error'), { code: 'EIO' })),
  });
}

const events = (text: string) =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as [number, string, string]);

describe('the recorder', () => {
  it('keeps multi-byte characters split across chunks whole, resizes as COLSxROWS, ends with a marker', async () => {
    const s = memoryStream();
    const r = new CastRecorder(s, '{"version":2}\n', { recordInput: false, maxBufferedBytes: 1 << 20 });
    const bytes = Buffer.from('a€😀b');
    r.output(bytes.subarray(0, 2)); // 'a' + first byte of €
    r.output(bytes.subarray(2, 6)); // rest of €, first two of 😀
    r.output(bytes.subarray(6));
    r.resize({ cols: 120, rows: 40 });
    r.input('secret');
    r.ended('REMOTE_CLOSED');
    const result = await r.done;
    const ev = events(s.text());
    expect(ev.filter((e) => e[1] === 'o').map((e) => e[2]).join('')).toBe('a€😀b');
    expect(ev.find((e) => e[1] === 'r')?.[2]).toBe('120x40');
    expect(ev.some((e) => e[1] === 'i')).toBe(false);
    expect(ev.at(-1)?.slice(1)).toEqual(['m', 'session ended: REMOTE_CLOSED']);
    const times = ev.map((e) => e[0]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(result).toMatchObject({ incomplete: undefined, completeBytes: Buffer.byteLength(s.text()) });
  });

  it('records keystrokes only when asked', async () => {
    const s = memoryStream();
    const r = new CastRecorder(s, '{}\n', { recordInput: true, maxBufferedBytes: 1 << 20 });
    r.input('ls\r');
    r.input(new TextEncoder().encode('é'));
    r.ended('REMOTE_CLOSED');
    await r.done;
    expect(events(s.text()).filter((e) => e[1] === 'i').map((e) => e[2])).toEqual(['ls\r', 'é']);
  });

  it('stops at the buffer cap on a stalled disk: bounded memory, marked incomplete, never throws', async () => {
    const s = memoryStream(true);
    const cap = 64 * 1024;
    const r = new CastRecorder(s, '{}\n', { recordInput: false, maxBufferedBytes: cap });
    const chunk = Buffer.alloc(8192, 'x');
    for (let i = 0; i < 1000; i++) r.output(chunk); // 8 MB of output
    expect(s.writableLength).toBeLessThanOrEqual(cap + 8192 + 100);
    r.ended('REMOTE_CLOSED');
    s.fail();
    expect(await r.done).toMatchObject({ incomplete: 'BUFFER_FULL' });
  });

  it('a process-wide budget stops whichever recording pushes the total past it, and is given back', async () => {
    const budget = { queued: 0, max: 100 * 1024 };
    const streams = [memoryStream(true), memoryStream(true), memoryStream(true)];
    const recorders = streams.map((s) => new CastRecorder(s, '{}\n', { recordInput: false, maxBufferedBytes: 1 << 20, budget }));
    const chunk = Buffer.alloc(4096, 'y');
    for (let i = 0; i < 20; i++) for (const r of recorders) r.output(chunk); // 240 KiB offered, 100 KiB allowed
    expect(budget.queued).toBeLessThanOrEqual(budget.max + 3 * 4200);
    for (const s of streams) s.fail();
    const results = await Promise.all(recorders.map((r) => r.done));
    expect(results.map((r) => r.incomplete)).toContain('BUFFER_FULL');
    expect(budget.queued).toBe(0); // every pending write's bytes returned when its stream closed
  });

  it('a stream error stops it once; later calls are no-ops', async () => {
    const s = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('no space'), { code: 'ENOSPC' })) });
    const r = new CastRecorder(s, '{}\n', { recordInput: true, maxBufferedBytes: 1 << 20 });
    r.output(Buffer.from('x'));
    const result = await r.done;
    expect(result).toMatchObject({ incomplete: 'ENOSPC', completeBytes: 0 });
    expect(() => {
      r.output(Buffer.from('y'));
      r.input('z');
      r.resize({ cols: 1, rows: 1 });
      r.ended('REMOTE_CLOSED');
    }).not.toThrow();
  });
});
