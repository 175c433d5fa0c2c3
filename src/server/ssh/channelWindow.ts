/**
 * The SSH window of the shell channel, taken over from ssh2.
 *
 * ssh2 advertises a fixed 2 MiB window when it opens a channel and tops it back up to
 * 2 MiB whenever half is used and the stream accepts data; neither is an option
 * (`MAX_WINDOW` in ssh2/lib/Channel.js). With that, up to 2 MiB could sit between a
 * paused gateway and the remote program, and a slow browser waited seconds for the
 * prompt after Ctrl-C. The gateway instead grants window only as the browser acks
 * (core/flowControl.ts). Both hooks below touch ssh2 internals: ssh2 is pinned in
 * package.json, and tests/integration/flowControl.test.ts fails if they change.
 */
import type { ClientChannel } from 'ssh2';

interface ProtocolInternals {
  session(chan: number, initWindow: number, maxPacket: number): void;
  channelWindowAdjust(chan: number, amount: number): void;
}

interface ChannelInternals {
  incoming: { window: number };
  outgoing: { id: number; state: string };
  _client: { _protocol: ProtocolInternals };
}

function protocolOf(client: object): ProtocolInternals {
  const proto = (client as { _protocol?: Partial<ProtocolInternals> })._protocol;
  if (typeof proto?.session !== 'function' || typeof proto.channelWindowAdjust !== 'function') {
    throw new Error('ssh2 internals changed: Client._protocol.session/channelWindowAdjust not found');
  }
  return proto as ProtocolInternals;
}

/**
 * Makes the next session channel this connected client opens (the shell) advertise
 * `window` bytes. Only that one: ssh2 keeps managing every later channel's window from
 * its own count, which starts at its 2 MiB, so an SFTP channel opened with the smaller
 * window would stall once the server used it up (ssh2 would think half was still left).
 */
export function advertiseSessionWindow(client: object, window: number): void {
  const proto = protocolOf(client);
  const open = proto.session.bind(proto);
  proto.session = (chan, _initWindow, maxPacket) => {
    proto.session = open; // the bound original: it behaves as before for every later channel
    open(chan, window, maxPacket);
  };
}

/**
 * Stops ssh2 from ever growing this channel's window again, and returns the function
 * that grants window from now on.
 */
export function takeOverWindow(channel: ClientChannel): (bytes: number) => void {
  const c = channel as unknown as Partial<ChannelInternals>;
  if (typeof c.incoming?.window !== 'number' || typeof c.outgoing?.id !== 'number' || !c._client) {
    throw new Error('ssh2 internals changed: channel incoming/outgoing window state not found');
  }
  const proto = protocolOf(c._client);
  const { incoming, outgoing } = c as ChannelInternals;
  // ssh2 tops the window up when its own count falls to 1 MiB; a count that never
  // falls never does. Its count is bookkeeping only: it does not gate received data.
  incoming.window = Infinity;
  return (bytes) => {
    if (outgoing.state === 'open' && bytes > 0) proto.channelWindowAdjust(outgoing.id, bytes);
  };
}
