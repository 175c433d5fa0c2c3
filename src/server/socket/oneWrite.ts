/**
 * Sends each batch of engine.io packets as one TCP write over WebSocket.
 *
 * An `output` is one frame (shared/outputFrames.ts), and ws writes a frame's header and
 * payload corked, so a lone output is already one write. What is left is a batch:
 * while ws has not called back for the previous write, engine.io queues what the
 * session emits and then hands the queue to the transport at once, which writes each
 * packet apart. Corking the TCP socket around the transport's `send` makes such a batch
 * leave in one `writev`, so it crosses NGINX, docker-proxy and the browser as one
 * segment, not one per packet (docs/architecture.md, "One frame, one write per output event").
 *
 * Hooks, from engine.io 6 (node_modules/engine.io/build): the WebSocket transport's
 * `send(packets)` encodes and writes them synchronously (ws without per-message
 * deflate, as Socket.IO 4 configures it); `transport.socket._socket` is the net.Socket
 * under ws. Polling needs none of this: a poll response carries the whole queue.
 */
import type { Socket as NetSocket } from 'node:net';

interface WsTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: NetSocket };
}

/** The part of an engine.io server-side socket this uses. */
export interface WritableConnection {
  transport: unknown;
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

/** Makes this connection's WebSocket batches leave in one write each (once per transport). */
export function corkBatches(conn: WritableConnection): void {
  const transport = conn.transport as WsTransport;
  if (transport.name === 'websocket') corkSends(transport);
}
