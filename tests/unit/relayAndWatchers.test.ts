/**
 * Pure parts of the relay and of watching: frames survive a round trip and a malformed
 * one is nothing; a watcher that does not read is dropped at its bound, and the user
 * hears about watchers coming and going.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../src/server/relay/relayFrames.js';
import { TerminalWatchers } from '../../src/server/socket/terminalWatchers.js';
import type { TerminalPeer } from '../../src/server/socket/terminalPeer.js';

describe('relay frames', () => {
  it('carry a head and raw bytes, newlines and all', () => {
    const bytes = Buffer.from('line 1\nline 2\n\x00\xff');
    const decoded = decodeFrame(encodeFrame({ t: 'out', relay: 'r1', from: 'n1' }, bytes));
    expect(decoded?.frame).toEqual({ t: 'out', relay: 'r1', from: 'n1' });
    expect(decoded?.payload.equals(bytes)).toBe(true);
  });

  it('decode to nothing when malformed', () => {
    for (const bad of ['', 'not json', '[]', 'null', '{"t":"out"}', '{"t":1,"relay":"r","from":"n"}', '{"t":"out","relay":"r"}']) {
      expect(decodeFrame(Buffer.from(bad))).toBeUndefined();
    }
  });
});

/** A peer whose transport reports delivery only when the test says so. */
function fakePeer() {
  const events: { event: string; args: unknown[] }[] = [];
  let deliver: (n: number) => void = () => undefined;
  const peer: TerminalPeer = {
    emit: (event, ...args) => void events.push({ event, args }),
    watchDelivery: (d) => {
      deliver = d;
      return () => (deliver = () => undefined);
    },
    joinNotices: () => undefined,
    leaveNotices: () => undefined,
  };
  return { peer, events, deliver: (n: number) => deliver(n) };
}

describe('terminal watchers', () => {
  const status = { state: 'connected' as const };

  it('drop a watcher whose output does not leave the gateway, at the bound, and tell it why', () => {
    const notices: string[] = [];
    const watchers = new TerminalWatchers((m) => notices.push(m), 4096);
    const w = fakePeer();
    let released = 0;
    watchers.add(w.peer, status, [], () => released++);
    for (let i = 0; i < 3; i++) watchers.output(Buffer.alloc(1024));
    w.deliver(3072); // it keeps up so far
    for (let i = 0; i < 4; i++) watchers.output(Buffer.alloc(1024));
    expect(watchers.size).toBe(1);
    watchers.output(Buffer.alloc(1024)); // 5 KiB undelivered: over 4 KiB
    expect(watchers.size).toBe(0);
    expect(released).toBe(1);
    expect(w.events.at(-1)).toMatchObject({ event: 'ended', args: [{ code: 'WATCHER_TOO_SLOW' }] });
    expect(notices).toEqual([expect.stringMatching(/started watching/), expect.stringMatching(/stopped watching/)]);
  });

  it('send the status and the recent screen first, and tell every watcher when the session ends', () => {
    const watchers = new TerminalWatchers(() => undefined);
    const w = fakePeer();
    watchers.add(w.peer, status, [Buffer.from('screen')], () => undefined);
    expect(w.events[0]).toEqual({ event: 'status', args: [status] });
    watchers.ended({ code: 'REMOTE_CLOSED', message: 'closed', retryable: true });
    expect(w.events.map((e) => e.event)).toEqual(['status', 'output', 'ended']);
    expect(watchers.size).toBe(0);
  });
});
