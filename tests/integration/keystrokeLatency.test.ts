/**
 * A guard against the stall that once made every keystroke wait ~40 ms: with Nagle's
 * algorithm on the gateway's socket to sshd, the tail of each SSH packet (ssh2 writes a
 * packet in several writes without its native binding) waited for sshd's delayed ACK.
 * Single keystrokes through the gateway to a real sshd must echo far below that step.
 * Generous on purpose: this catches a 40 ms stall, not a 1 ms regression (npm run bench).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
let c: TerminalClient | undefined;

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
}, 60_000);

afterAll(async () => {
  c?.close();
  await gw?.close();
  await sshd?.close();
});

it('a single keystroke echoes well under the 40 ms delayed-ACK step (median of 20)', async () => {
  c = new TerminalClient(gw.url);
  c.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
  await c.waitForState('connected');
  // `cat` in cooked mode: the remote tty echoes each byte as it arrives.
  c.send("echo RE''ADY; exec cat\r");
  await c.waitForText('READY');
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const before = c.received;
    const t0 = performance.now();
    c.send('x');
    await c.waitFor('the echo of one keystroke', () => c!.received > before, 5_000);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = (times[9]! + times[10]!) / 2;
  console.log(`keystroke echo through the gateway: median ${median.toFixed(2)} ms, max ${times[19]!.toFixed(2)} ms`);
  // With Nagle back, no echo can beat the ~40 ms delayed ACK (fresh clone: 44.2 ms median);
  // without it, 1.4-1.7 ms on a quiet machine and 10-16 ms at a load average of 17.
  expect(median).toBeLessThan(30);
});

it('/healthz and the startup log say which crypto path ssh2 runs on', async () => {
  const { bindingAvailable } = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean };
  const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { ssh: { crypto: { nativeBinding: boolean }; noDelay: boolean } };
  expect(health.ssh).toEqual({ crypto: { nativeBinding: bindingAvailable }, noDelay: true });
  const line = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'ssh transport');
  expect(line).toMatchObject({ nativeCryptoBinding: bindingAvailable, tcpNoDelay: true });
});
