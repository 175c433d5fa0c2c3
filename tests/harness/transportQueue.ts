/**
 * Bytes a gateway holds in its own process for its Socket.IO connections: packets
 * waiting in engine.io's write buffer (the transport is busy or, for polling, no GET is
 * waiting) plus what the WebSocket has not yet handed to the kernel (`bufferedAmount`:
 * ws's sender queue and the TCP socket's userland buffer).
 */
interface EnginePacket {
  data?: unknown;
}
interface EngineConn {
  writeBuffer?: EnginePacket[];
  transport?: { name?: string; socket?: { bufferedAmount?: number } };
}

function packetBytes(p: EnginePacket): number {
  if (typeof p.data === 'string') return Buffer.byteLength(p.data);
  if (ArrayBuffer.isView(p.data)) return p.data.byteLength;
  return 0;
}

export function queuedInTransport(io: { engine: object }): number {
  let total = 0;
  for (const conn of Object.values((io.engine as unknown as { clients: Record<string, EngineConn> }).clients)) {
    for (const p of conn.writeBuffer ?? []) total += packetBytes(p);
    if (conn.transport?.name === 'websocket') total += conn.transport.socket?.bufferedAmount ?? 0;
  }
  return total;
}
