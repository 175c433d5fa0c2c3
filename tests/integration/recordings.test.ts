/**
 * Issue 15, session recordings over a real sshd: the .cast file a session writes is
 * asciicast v2 whose output events are exactly what the page received (multi-byte
 * UTF-8 split across chunks included) with the page's resizes; keystrokes only with
 * RECORD_INPUT; the admin endpoints list and serve it behind the token, refusing any
 * other name; and retention deletes by age and by total size, never a live recording.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingListing } from '../../src/shared/admin.js';
import { createLogger } from '../../src/server/log.js';
import { GatewayEvents } from '../../src/server/observe/gatewayEvents.js';
import { createRecordings } from '../../src/server/recordings.js';
import { castFileName } from '../../src/server/recordings/asciicast.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
const cleanup: (() => Promise<unknown>)[] = [];
const token = randomBytes(24).toString('hex');

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await sshd?.close();
});

async function recordingGateway(env: Record<string, string> = {}): Promise<{ gw: TestGateway; dir: string }> {
  const dir = env.RECORDINGS_DIR ?? (await mkdtemp(join(tmpdir(), 'webssh-rec-')));
  const gw = await startGateway({ RECORDINGS_DIR: dir, ADMIN_TOKEN: token, ...env });
  cleanup.push(() => gw.close(), () => rm(dir, { recursive: true, force: true }));
  return { gw, dir };
}

async function open(gw: TestGateway, size = { cols: 80, rows: 24 }): Promise<{ c: TerminalClient; session: string }> {
  const c = new TerminalClient(gw.url);
  cleanup.push(() => Promise.resolve(c.close()));
  const started = once(gw.gateway.events, 'session.started') as Promise<[{ session: string }]>;
  c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password }, size);
  await c.waitForState('connected');
  const [{ session }] = await started;
  return { c, session };
}

type CastEvent = [number, string, string];
function parseCast(text: string): { header: Record<string, unknown>; events: CastEvent[] } {
  expect(text.endsWith('\n'), 'a cast file ends with a newline').toBe(true);
  const [first, ...rest] = text.slice(0, -1).split('\n');
  const header = JSON.parse(first!) as Record<string, unknown>;
  const events = rest.map((l) => JSON.parse(l) as CastEvent);
  for (const e of events) {
    expect(e).toHaveLength(3);
    expect(typeof e[0]).toBe('number');
    expect(['o', 'i', 'r', 'm']).toContain(e[1]);
    expect(typeof e[2]).toBe('string');
  }
  const times = events.map((e) => e[0]);
  expect(times, 'event times never go back').toEqual([...times].sort((a, b) => a - b));
  return { header, events };
}

/** A GET with the path exactly as written (fetch would normalise dot segments away). */
function rawGet(gw: TestGateway, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${gw.url}/ssh/admin/`, { path: `/ssh/admin/${path}`, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

const admin = (gw: TestGateway, path: string, auth = `Bearer ${token}`) => fetch(`${gw.url}/ssh/admin/${path}`, { headers: { authorization: auth } });

describe('a recorded session', () => {
  it('writes asciicast v2 whose output events are the bytes the page got, with resizes, and no keystrokes by default', async () => {
    const { gw, dir } = await recordingGateway();
    const { c, session } = await open(gw, { cols: 91, rows: 33 });
    c.send('stty -echo; echo READY$((40+2))\r');
    await c.waitForText('READY42');
    // 3- and 4-byte characters over many chunks: some are split between two SSH packets.
    c.send("printf 'BEGIN\\n'; for i in $(seq 1 3000); do printf '€😀日本語'; done; printf '\\nEND\\n'\r");
    await c.waitForText(/\nEND\r?\n/);
    c.socket.emit('resize', { cols: 120, rows: 40 });
    c.send('stty size; echo SIZED\r');
    await c.waitForText(/40 120\s+SIZED/);
    c.send('exit\r');
    await c.waitForEnd();
    await gw.gateway.recordings!.settled(session);

    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const name = files[0]!;
    expect(name).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${session}\\.cast$`));
    expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
    const text = await readFile(join(dir, name), 'utf8');
    const { header, events } = parseCast(text);
    expect(header).toMatchObject({ version: 2, width: 91, height: 33, env: { TERM: 'xterm-256color' }, webssh: { session, client: '127.0.0.1', target: { username: sshd.users.password.username, host: sshd.host, port: sshd.port } } });
    expect(Math.abs((header.timestamp as number) * 1000 - Date.now())).toBeLessThan(120_000);

    const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output).toBe(c.text); // every byte the page received, in order
    expect(output).toContain('€😀日本語'.repeat(3000));
    expect(events.filter((e) => e[1] === 'r').map((e) => e[2])).toContain('120x40');
    expect(events.some((e) => e[1] === 'i')).toBe(false);
    expect(events.at(-1)).toEqual([expect.any(Number), 'm', 'session ended: REMOTE_CLOSED']);
    expect(text).not.toContain(sshd.users.password.password);

    // The admin endpoint lists it and serves it byte for byte.
    const listing = (await (await admin(gw, 'recordings')).json()) as RecordingListing;
    expect(listing.enabled).toBe(true);
    expect(listing.recordings).toEqual([
      expect.objectContaining({ name, session, state: 'complete', size: Buffer.byteLength(text), target: { username: sshd.users.password.username, host: sshd.host, port: sshd.port } }),
    ]);
    const res = await admin(gw, `recordings/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-asciicast/);
    expect(await res.text()).toBe(text);
  });

  it('records keystrokes with RECORD_INPUT=true', async () => {
    const { gw, dir } = await recordingGateway({ RECORD_INPUT: 'true' });
    const { c, session } = await open(gw);
    c.send('echo typed-$((6*7))\r');
    await c.waitForText('typed-42');
    c.send('exit\r');
    await c.waitForEnd();
    await gw.gateway.recordings!.settled(session);
    const [name] = await readdir(dir);
    const text = await readFile(join(dir, name!), 'utf8');
    const { events } = parseCast(text);
    expect(events.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).toBe('echo typed-$((6*7))\rexit\r');
    // The login's password travels in `start`, never through the terminal: not recorded even now.
    expect(text).not.toContain(sshd.users.password.password);
    // The operator was warned at startup, in the log and the audit trail.
    expect(gw.logs.filter((l) => l.includes('"event":"config.warning"') && l.includes('"setting":"RECORD_INPUT"'))).toHaveLength(1);
  });

  it('a sibling worker sharing the directory lists a recording as being written until its end marker', async () => {
    const { gw: writer, dir } = await recordingGateway();
    const { gw: sibling } = await recordingGateway({ RECORDINGS_DIR: dir });
    const { c, session } = await open(writer);
    c.send('echo live-$((6*7))\r');
    await c.waitForText('live-42');
    const state = async (gw: TestGateway) => ((await (await admin(gw, 'recordings')).json()) as RecordingListing).recordings.find((r) => r.session === session)?.state;
    expect(await state(writer)).toBe('recording');
    expect(await state(sibling)).toBe('recording');
    c.send('exit\r');
    await c.waitForEnd();
    await writer.gateway.recordings!.settled(session);
    expect(await state(sibling)).toBe('complete');
    expect(await state(writer)).toBe('complete');
  });

  it('the admin endpoints need the token and serve recording names only', async () => {
    const { gw } = await recordingGateway();
    expect((await admin(gw, 'recordings', '')).status).toBe(401);
    expect((await admin(gw, 'recordings', 'Bearer wrong')).status).toBe(401);
    const name = castFileName(randomUUID(), Date.now());
    expect((await admin(gw, `recordings/${name}`, '')).status).toBe(401);
    expect((await admin(gw, `recordings/${name}`)).status).toBe(404); // well-formed, absent
    for (const bad of ['..%2F..%2F..%2Fetc%2Fpasswd', '%2E%2E', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', `..%2F${name}`, `..%5C${name}`, 'x.cast', `${name}.txt`, `${name}%00`, `%2Fetc%2Fpasswd`]) {
      expect(await rawGet(gw, `recordings/${bad}`), bad).toBe(400);
    }
    // Not a recordings URL at all: never reaches the route.
    expect(await rawGet(gw, `recordings/../../../etc/passwd`)).toBe(404);
    expect(await rawGet(gw, `recordings/a/${name}`)).toBe(404);
  });

  it('without RECORDINGS_DIR nothing is recorded and the list says so', async () => {
    const gw = await startGateway({ ADMIN_TOKEN: token });
    cleanup.push(() => gw.close());
    expect(gw.gateway.recordings).toBeUndefined();
    expect(await (await admin(gw, 'recordings')).json()).toMatchObject({ enabled: false, recordings: [] });
  });
});

describe('retention', () => {
  const day = 86_400_000;
  async function seed(dir: string, ageMs: number, bytes: number): Promise<string> {
    const name = castFileName(randomUUID(), Date.now() - ageMs);
    await writeFile(join(dir, name), `${'x'.repeat(bytes - 1)}\n`);
    const t = (Date.now() - ageMs) / 1000;
    await utimes(join(dir, name), t, t);
    return name;
  }

  it('deletes by age at startup, then oldest first by total size, never a live recording; concurrent sweeps do not fail', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webssh-retention-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const ancient = await seed(dir, 40 * day, 10);
    const a = await seed(dir, 3 * day, 1000);
    const b = await seed(dir, 2 * day, 1000);
    const c = await seed(dir, 1 * day, 1000);
    await writeFile(join(dir, 'notes.txt'), 'not a recording');
    const { gw } = await recordingGateway({ RECORDINGS_DIR: dir, RECORDINGS_MAX_AGE_DAYS: '30', RECORDINGS_MAX_BYTES: '2200' });
    // At startup: the 40-day-old one by age, then the oldest until 2,200 bytes remain.
    expect((await gw.gateway.recordings!.firstSweep).sort()).toEqual([ancient, a].sort());
    expect((await readdir(dir)).sort()).toEqual([b, c, 'notes.txt'].sort());

    // The live recording, made the oldest file, still stays: this process is writing it.
    const { c: client, session } = await open(gw);
    client.send('echo live-$((6*7))\r');
    await client.waitForText(/live-42\r?\n.*\$ $/); // the prompt too: no output comes after it

    const live = (await readdir(dir)).find((n) => n.includes(session))!;
    const setAge = (ms: number) => utimes(join(dir, live), (Date.now() - ms) / 1000, (Date.now() - ms) / 1000);
    await setAge(10 * day);
    expect((await stat(join(dir, live))).size).toBeLessThan(1200); // so d and it fit in 2,200
    const d = await seed(dir, 3_600_000, 1000);
    expect((await gw.gateway.recordings!.sweep()).sort()).toEqual([b, c].sort());
    expect((await readdir(dir)).sort()).toEqual([d, live, 'notes.txt'].sort());

    // Two sweepers on one directory (two PM2 workers): both finish without an error and
    // each file goes once. (Another process protects its live recordings by their last
    // write being recent, so it is back to now here: see docs/architecture.md.)
    await setAge(0);
    const e = await seed(dir, 3 * 3_600_000, 1000);
    const f = await seed(dir, 2 * 3_600_000, 1000);
    const logs: string[] = [];
    const other = createRecordings({ dir, recordInput: false, maxAgeMs: 30 * day, maxBytes: 2200 }, { log: createLogger('debug', (l) => logs.push(l)), events: new GatewayEvents(), term: 'xterm' });
    cleanup.push(() => other.close());
    const [mine, theirs] = await Promise.all([gw.gateway.recordings!.sweep(), other.sweep(), other.firstSweep]);
    expect([...new Set([...mine, ...theirs])].sort()).toEqual([e, f].sort());
    expect(logs.filter((l) => l.includes('retention failed'))).toEqual([]);
    expect(gw.logs.filter((l) => l.includes('retention failed'))).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([d, live, 'notes.txt'].sort());
    client.close();
  });
});
