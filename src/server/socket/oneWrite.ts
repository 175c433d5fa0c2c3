/**
 * Sends one Socket.IO event as one TCP write over WebSocket.
 *
 * Socket.IO encodes a binary event (every `output`) as two engine.io packets: a text
 * header with a placeholder, then the attachment. engine.io writes the first at once and
 * holds the second until ws calls back for the first, so each output crossed every hop
 * (NGINX, docker-proxy, the browser) as two writes, and woke each process downstream
 * twice; a CPU profile at 2,000 terminals put a third of a worker's busy time in
 * `writev`. Here both packets are queued while the transport is marked busy, then handed
 * to it in one batch, and the TCP socket is corked around each batch so ws's frames leave
 * in one `writev` (docs/architecture.md, "One write per output event").
 *
 * Hooks, all from engine.io 6 (node_modules/engine.io/build): `transport.writable` is
 * what `Socket.flush()` checks before it hands its queue to the transport, and a busy
 * transport only queues; the WebSocket transport's `send(packets)` encodes and writes
 * them synchronously (ws without per-message deflate, as Socket.IO 4 configures it);
 * `transport.socket._socket` is the net.Socket under ws. Polling needs none of this: a
 * poll response carries the whole queue already.
 */
import type { Socket as NetSocket } from 'node:net';

interface WsTransport {
  name: string;
  writable: boolean;
  send(packets: unknown[]): void;
  socket?: { _socket?: NetSocket };
}

/** The parts of an engine.io server-side socket this uses. */
export interface WritableConnection {
  transport: unknown;
  flush(): void;
}

const CORKED = Symbol('webssh.corkedSends');

/** Makes every batch this transport writes leave in one writev. */
function corkSends(transport: WsTransport & { [CORKED]?: true }): void {
  if (transport[CORKED]) return;
  transport[CORKED] = true;
  const send = transport.send.bind(transport);
  transport.send = (packets) => {
    const raw = transport.socket?._socket;
    raw?.cork();
    try {
      send(packets);
    } finally {
      raw?.uncork();
    }
  };
}

/** Runs `emit` (one or more Socket.IO emits) so that what it sends leaves in one write. */
export function inOneWrite(conn: WritableConnection, emit: () => void): void {
  const transport = conn.transport as WsTransport;
  if (transport.name !== 'websocket') return emit();
  corkSends(transport);
  // Busy: engine.io queues, and the transport's next `ready` sends the queue as one batch.
  if (!transport.writable) return emit();
  transport.writable = false;
  try {
    emit();
  } finally {
    transport.writable = true;
  }
  conn.flush();
}
