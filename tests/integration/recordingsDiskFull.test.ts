/**
 * Issue 15: a recording on a full disk. RECORDINGS_DIR is a 128 KiB tmpfs mounted by the
 * test (we run as root); a session prints far more than that. The session must go on
 * (echo still round-trips), the recording is cut at its last whole line and renamed
 * `….incomplete.cast`, the audit event and the log warning come once, and nothing is
 * left buffering for it.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEventMap } from '../../src/server/observe/gatewayEvents.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const run = promisify(execFile);
let sshd: TestSshd;
let gw: TestGateway;
let dir: string;
let mounted = false;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webssh-full-'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=128k,mode=0700', 'tmpfs', dir]);
  mounted = true;
  sshd = await startSshd();
  gw = await startGateway({ RECORDINGS_DIR: dir });
});

afterAll(async () => {
  await gw?.close();
  await sshd?.close();
  if (mounted) await run('umount', [dir]);
  await rm(dir, { recursive: true, force: true });
});

describe('a recording on a full disk', () => {
  it('leaves the session running and marks the recording incomplete, once', async () => {
    const incomplete: GatewayEventMap['recording.incomplete'][0][] = [];
    gw.gateway.events.on('recording.incomplete', (e) => incomplete.push(e));
    const c = new TerminalClient(gw.url, { record: false });
    const started = once(gw.gateway.events, 'session.started') as Promise<[{ session: string }]>;
    c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
    await c.waitForState('connected');
    const [{ session }] = await started;
    const cut = once(gw.gateway.events, 'recording.incomplete');

    // ~1.3 MB of output into a 128 KiB file system.
    c.send('head -c 1000000 /dev/zero | base64 -w 100; echo FLOOD-DONE-$((6*7))\r');
    await cut;
    await c.waitForText('FLOOD-DONE-42', 30_000);
    expect(gw.gateway.recordings!.active().size).toBe(0); // dropped at once, while the session runs
    expect(gw.gateway.recordings!.bufferedBytes()).toBe(0);

    // The terminal does not notice: echo still round-trips, more output still flows.
    for (let i = 0; i < 3; i++) {
      c.send(`echo still-here-${i}-$((6*7))\r`);
      await c.waitForText(`still-here-${i}-42`);
    }
    c.send('head -c 300000 /dev/zero | base64 -w 100; echo MORE-$((6*7))\r');
    await c.waitForText('MORE-42', 30_000);
    expect(c.ended).toBeUndefined();

    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${session}\\.incomplete\\.cast$`));
    expect(incomplete).toEqual([{ session, file: files[0], reason: 'ENOSPC' }]);
    // One warning in the log, one line in the audit trail.
    expect(gw.logs.filter((l) => l.includes('recording incomplete') && !l.includes('"event"'))).toHaveLength(1);
    expect(gw.logs.filter((l) => l.includes('"event":"recording.incomplete"') && l.includes('"reason":"ENOSPC"'))).toHaveLength(1);
    expect(gw.logs.find((l) => l.includes('recording incomplete'))).toContain('ENOSPC');

    // What is left is still a valid recording: cut at a line boundary, every line JSON.
    const text = await readFile(join(dir, files[0]!), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const [header, ...events] = text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as unknown);
    expect(header).toMatchObject({ version: 2, webssh: { session } });
    expect(events.length).toBeGreaterThan(0);

    // The session ends normally later; nothing more is said about its recording.
    c.send('exit\r');
    await c.waitForEnd();
    await gw.gateway.recordings!.settled(session);
    expect(incomplete).toHaveLength(1);
    c.close();
  });
});
