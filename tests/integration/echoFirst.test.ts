/**
 * A keystroke's echo leaves the gateway ahead of the output other terminals have queued
 * in the same I/O turn (core/outputCoalescer.ts). A worker holding thousands of terminals
 * reads their output in bursts and queues one flush per terminal for the check phase;
 * an echo that queued with them went out last, so the typist waited for every neighbour's
 * line to be written first.
 *
 * Here a scripted SSH server answers the typist's keystroke by first writing a line to
 * every other terminal and then the echo, all in one turn: the gateway reads them in one
 * poll, neighbours first. The order in which the pages receive their output is the order
 * the gateway wrote it. Without the echo going first, all the neighbours' lines arrive
 * before it.
 */
import type { ServerChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startScriptedServer, type ScriptedServer } from '../harness/scriptedSshServer.js';
import { TerminalClient } from '../harness/terminalClient.js';

const NEIGHBOURS = 120;
const ROUNDS = 5;

let server: ScriptedServer;
let gw: TestGateway;
const shells: ServerChannel[] = [];
const clients: TerminalClient[] = [];

beforeAll(async () => {
  server = await startScriptedServer({
    onShell: (stream) => {
      shells.push(stream);
      stream.write('$ ');
      stream.on('data', (d: Buffer) => {
        for (const s of shells) if (s !== stream) s.write('tick\r\n');
        stream.write(d);
      });
    },
  });
  gw = await startGateway({ SESSIONS_PER_CLIENT: '0', LOG_LEVEL: 'warn' });
  for (let i = 0; i <= NEIGHBOURS; i += 20) {
    const batch = Array.from({ length: Math.min(20, NEIGHBOURS + 1 - i) }, () => new TerminalClient(gw.url, { record: false }));
    clients.push(...batch);
    for (const c of batch) c.start({ host: '127.0.0.1', port: server.port, username: 'u', password: 'pw' });
    await Promise.all(batch.map((c) => c.waitForText('$ ', 30_000)));
  }
}, 120_000);

afterAll(async () => {
  clients.forEach((c) => c.close());
  await gw?.close();
  await server?.close();
});

describe('echo first', () => {
  it("a keystroke's echo reaches the typist ahead of the lines its neighbours print in the same turn", async () => {
    const typist = clients.at(-1)!;
    const neighbours = clients.slice(0, -1);
    let arrived = 0;
    let aheadOfEcho = -1;
    let settled = (): void => undefined;
    const check = () => aheadOfEcho >= 0 && arrived >= NEIGHBOURS && settled();
    neighbours.forEach((c) => c.socket.on('output', () => (arrived++, check())));
    typist.socket.on('output', () => {
      if (aheadOfEcho < 0) aheadOfEcho = arrived;
      check();
    });
    const ahead: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      arrived = 0;
      aheadOfEcho = -1;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`round ${round}: echo ${aheadOfEcho >= 0 ? 'came' : 'missing'}, ${arrived} of ${NEIGHBOURS} neighbour lines`)), 15_000);
        settled = () => (clearTimeout(timer), resolve());
        typist.send('x');
      });
      ahead.push(aheadOfEcho);
    }
    // Measured: 0 with the echo sent at once; all 120 when it waited in the check phase.
    ahead.sort((a, b) => a - b);
    expect(ahead[Math.floor(ROUNDS / 2)]).toBeLessThan(NEIGHBOURS / 4);
  }, 60_000);
});
