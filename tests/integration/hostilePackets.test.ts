/**
 * Issue 12, finding 4: nothing a client sends may throw. Raw Socket.IO packets whose
 * event name is missing (`42`) or not a string (`42[1]`) reach the catch-all listener;
 * a gateway embedded through createGateway() (no process-wide `uncaughtException`
 * handler, see the fixture) must survive them, and a thousand of them must not write a
 * thousand log lines (main.ts, whose handler logs what escapes, is checked for that too).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { freePort } from '../../src/tools/ports.js';
import { guard } from '../../src/tools/reaper.js';
import { RawSocketIo } from '../harness/rawSocketIo.js';

const FIXTURE = fileURLToPath(new URL('../harness/fixtures/embeddedGateway.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));
const PACKETS = 1000;
/** Connect, disconnect and a summary may log; one line per packet may not. */
const MAX_LOG_LINES = 20;

/** How to start a gateway process and recognise the line saying it listens (the port, if the line has it). */
const launches = {
  'createGateway() embedded, no uncaughtException handler': () =>
    Promise.resolve({
      args: ['--import', 'tsx', FIXTURE],
      env: process.env,
      listening: (line: string) => /^\{"listening":(\d+)\}$/.exec(line)?.[1],
    }),
  'main.ts (the entry point, which logs uncaught exceptions)': async () => {
    const port = await freePort();
    return {
      args: [MAIN],
      env: { PATH: process.env.PATH ?? '', PORT: String(port), LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'debug' },
      listening: (line: string) => (line.includes('"msg":"ssh transport"') ? String(port) : undefined),
    };
  },
};

it.each(Object.keys(launches) as (keyof typeof launches)[])(`%s: survives ${PACKETS} packets with a non-string event name, logging a bounded number of lines`, { timeout: 60_000 }, async (kind) => {
  const launch = await launches[kind]();
  const child = spawn(process.execPath, launch.args, { stdio: ['ignore', 'pipe', 'pipe'], env: launch.env });
  const release = guard(child.pid!);
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit').then(([code]) => `exited with code ${String(code)}: ${stderr.split('\n').find((l) => /Error/.test(l)) ?? stderr.slice(0, 300)}`);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const parts = out.split('\n');
        out = parts.pop() ?? '';
        for (const line of parts) {
          const listening = launch.listening(line);
          if (listening !== undefined) resolve(Number(listening));
          if (!line.startsWith('{"listening"')) lines.push(line);
        }
      });
      void exited.then((why) => reject(new Error(`gateway ${why}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const raw = await RawSocketIo.connect(url);
    const before = lines.length;

    const attack = (async () => {
      // A well-formed unknown event last: its answer means every packet before it was handled.
      await raw.send(...Array.from({ length: PACKETS }, (_, i) => (i % 2 === 0 ? '42' : '42[1]')), RawSocketIo.event('sentinel'));
      await raw.waitFor('the answer to the sentinel', () => raw.events.some((e) => e[0] === 'problem' && JSON.stringify(e[1]).includes('sentinel')), 20_000);
      await raw.close();
      return 'answered';
    })();
    // A dead gateway fails the attack's requests first: then say how it died.
    const died = (err: unknown) => Promise.race([exited, new Promise<string>((r) => setTimeout(() => r(String(err)), 5_000).unref())]);
    const result = await Promise.race([attack.catch(died), exited]);
    const health = await fetch(`${url}/healthz`).then((r) => r.status, (err: unknown) => String(err));
    const problems = raw.events.filter((e) => e[0] === 'problem').map((e) => (e[1] as { code: string }).code);
    expect({ result, health, alive: child.exitCode === null, logLines: lines.length - before <= MAX_LOG_LINES ? 'bounded' : lines.length - before }).toEqual({
      result: 'answered',
      health: 200,
      alive: true,
      logLines: 'bounded',
    });
    expect(problems).toEqual(Array.from({ length: PACKETS + 1 }, () => 'INVALID_REQUEST')); // each one answered
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    release();
  }
});
