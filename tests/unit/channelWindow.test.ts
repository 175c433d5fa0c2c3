import type { ClientChannel } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { advertiseSessionWindow, takeOverWindow } from '../../src/server/ssh/channelWindow.js';

/** The shape of ssh2 1.17's internals that channelWindow.ts relies on. */
function fakeProtocol() {
  const calls: { session: number[][]; adjust: number[][] } = { session: [], adjust: [] };
  return {
    calls,
    session(chan: number, initWindow: number, maxPacket: number) {
      calls.session.push([chan, initWindow, maxPacket]);
    },
    channelWindowAdjust(chan: number, amount: number) {
      calls.adjust.push([chan, amount]);
    },
  };
}

describe('channelWindow (ssh2 internals shim)', () => {
  it('makes the channel-open request advertise our window, keeping the packet size', () => {
    const proto = fakeProtocol();
    advertiseSessionWindow({ _protocol: proto }, 512 * 1024);
    proto.session(0, 2 * 1024 * 1024, 32 * 1024);
    expect(proto.calls.session).toEqual([[0, 512 * 1024, 32 * 1024]]);
  });

  it('stops ssh2 from refilling the window and sends our grants while the channel is open', () => {
    const proto = fakeProtocol();
    const channel = { incoming: { window: 2 * 1024 * 1024 }, outgoing: { id: 7, state: 'open' }, _client: { _protocol: proto } };
    const grant = takeOverWindow(channel as unknown as ClientChannel);
    // ssh2 refills when its count falls to 1 MiB; Infinity never falls.
    expect(channel.incoming.window).toBe(Infinity);
    grant(40_000);
    grant(0);
    channel.outgoing.state = 'closed';
    grant(40_000);
    expect(proto.calls.adjust).toEqual([[7, 40_000]]);
  });

  it('fails loudly, not silently, when ssh2 internals change', () => {
    expect(() => advertiseSessionWindow({}, 1024)).toThrow(/ssh2 internals changed/);
    expect(() => takeOverWindow({ incoming: {}, outgoing: { id: 1 } } as unknown as ClientChannel)).toThrow(/ssh2 internals changed/);
  });
});
