/**
 * Reports output bytes once the connection's transport has handed them to the kernel,
 * so acks are credited only for bytes that have left the gateway's process (issue 12,
 * finding 3). A client can ack bytes it never read; what it cannot do is make the
 * gateway's own buffers drain. Until they do, those bytes stay unacked for flow
 * control, and the SSH window stays shut: a lying client gets at most the output
 * budget queued here, like an honest slow one. (docs/architecture.md, "Flow control".)
 *
 * Hooks, all from engine.io 6 (node_modules/engine.io/build): the connection emits
 * `flush` with the batch it hands to its transport, only while the transport is
 * writable. The WebSocket transport then emits `drain` once ws has called back for the
 * batch's last frame, i.e. the TCP socket wrote it; it accepts no other batch before.
 * The polling transport writes the batch into the waiting GET's response right away
 * and emits `drain` at once, so there the response's own `finish` (handed to the
 * kernel) is what counts. A batch that never gets there (the transport or response
 * closes) has left the process too, and is counted so an honest session never stalls.
 */
import type { EventEmitter } from 'node:events';

interface EnginePacket {
  data?: unknown;
}

/** The parts of an engine.io server-side socket this reads. */
export interface EngineConnection extends EventEmitter {
  transport: EventEmitter & { name: string; res?: EventEmitter | null };
}

/** Output goes out as bare binary frames (shared/outputFrames.ts); nothing else the gateway sends is binary. */
function outputBytes(packets: readonly EnginePacket[]): number {
  let bytes = 0;
  for (const p of packets) if (ArrayBuffer.isView(p.data)) bytes += p.data.byteLength;
  return bytes;
}

/** Calls `fn` once, on the first of `events`. */
function onFirst(emitter: EventEmitter, events: readonly string[], fn: () => void): void {
  const fire = (): void => {
    for (const e of events) emitter.off(e, fire);
    fn();
  };
  for (const e of events) emitter.once(e, fire);
}

/**
 * Starts reporting; returns the function that stops (a batch already out still reports).
 *
 * WebSocket: the transport takes one batch at a time, so one count of bytes in flight
 * and one pair of listeners per transport do, not a pair per batch: a terminal printing
 * a line a second flushes once a second, and each pair was ~0.5 KB of garbage.
 */
export function watchDelivery(conn: EngineConnection, delivered: (bytes: number) => void): () => void {
  let ws: EventEmitter | undefined;
  let inFlight = 0;
  let stopped = false;
  const settle = (): void => {
    const bytes = inFlight;
    inFlight = 0;
    if (bytes > 0) delivered(bytes);
    if (stopped) unfollow();
  };
  const unfollow = (): void => {
    ws?.off('drain', settle);
    ws?.off('close', settle);
    ws = undefined;
  };
  const follow = (transport: EventEmitter): void => {
    if (ws === transport) return;
    settle(); // a batch on the old transport: that transport is gone, so it has left
    unfollow();
    ws = transport;
    ws.on('drain', settle);
    ws.on('close', settle);
  };
  const onFlush = (packets: EnginePacket[]): void => {
    const bytes = outputBytes(packets);
    if (bytes === 0) return;
    const transport = conn.transport;
    if (transport.name === 'polling') {
      const res = transport.res;
      if (res) onFirst(res, ['finish', 'close'], () => delivered(bytes));
      else delivered(bytes); // no waiting GET: engine.io does not flush then
    } else {
      follow(transport);
      inFlight += bytes;
    }
  };
  conn.on('flush', onFlush);
  return () => {
    conn.off('flush', onFlush);
    stopped = true;
    if (inFlight === 0) unfollow();
  };
}
