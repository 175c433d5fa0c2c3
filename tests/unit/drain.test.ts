/**
 * The drain's waiting (drain.ts), with fake sessions and fake time: it ends when the last
 * session and the last relayed file request are gone, or at the deadline. A process
 * relaying a download for another's terminal usually holds no session at all; before it
 * counted relayed requests, its drain ended at once and its close cut the download
 * (tests/cluster/resume.test.ts, "terminated: other side closed" across `pm2 reload`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drainSessions, type DrainDeps } from '../../src/server/drain.js';
import { createLogger } from '../../src/server/log.js';
import { RelayedRequests } from '../../src/server/relay/fileRelay.js';
import type { SshSession } from '../../src/server/ssh/sshSession.js';
import { SessionRegistry } from '../../src/server/socket/sessionRegistry.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function setup() {
  const registry = new SessionRegistry();
  const relayed = new RelayedRequests();
  const ended: string[] = [];
  const session = (id: string) => {
    const s = { id, bytesIn: 0, flow: { totals: { sent: 0 }, windowClosedMs: 0 }, end: (code: string) => (ended.push(`${id}:${code}`), registry.delete(s)) } as unknown as SshSession;
    registry.add(s, { client: '127.0.0.1' });
    return s;
  };
  const stopAccepting = vi.fn();
  const notifyLocal = vi.fn();
  const deps: DrainDeps = { registry, relayed, stopAccepting, notifyLocal, log: createLogger('silent', () => undefined) };
  return { registry, relayed, ended, session, deps, stopAccepting, notifyLocal };
}

/** Whether `p` has settled once pending callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('drain', () => {
  it('with nothing under way, ends at once', async () => {
    const { deps, stopAccepting } = setup();
    expect(await settled(drainSessions(deps, 60_000))).toBe(true);
    expect(stopAccepting).toHaveBeenCalledOnce();
  });

  it('a process holding no session but relaying a download waits for the download, then ends', async () => {
    const { deps, relayed } = setup();
    const release = relayed.add();
    const drained = drainSessions(deps, 60_000);
    expect(await settled(drained)).toBe(false);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await settled(drained)).toBe(false);
    release();
    release(); // a second release changes nothing
    expect(relayed.size).toBe(0);
    expect(await settled(drained)).toBe(true);
  });

  it('waits for the last of both: sessions and relayed requests', async () => {
    const { deps, relayed, registry, session, notifyLocal } = setup();
    const s = session('a');
    const one = relayed.add();
    const two = relayed.add();
    const drained = drainSessions(deps, 60_000);
    expect(notifyLocal).toHaveBeenCalledOnce();
    one();
    registry.delete(s);
    expect(await settled(drained)).toBe(false); // one relayed request is still under way
    two();
    expect(await settled(drained)).toBe(true);
  });

  it('at the deadline ends the sessions and stops waiting for relayed requests (closing the process cuts them)', async () => {
    const { deps, relayed, session, ended } = setup();
    session('a');
    relayed.add();
    const drained = drainSessions(deps, 60_000);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(await settled(drained)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(drained)).toBe(true);
    expect(ended).toEqual(['a:SHUTTING_DOWN']);
    expect(relayed.listenerCount('change')).toBe(0);
  });
});
