import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { watchDelivery, type EngineConnection } from '../../src/server/socket/transportDelivery.js';

class FakeTransport extends EventEmitter {
  res: EventEmitter | null = null;
  constructor(readonly name: string) {
    super();
  }
}

function connection(transport: FakeTransport) {
  const conn: EngineConnection & { transport: FakeTransport } = Object.assign(new EventEmitter(), { transport });
  const reported: number[] = [];
  const stop = watchDelivery(conn, (n) => reported.push(n));
  const flush = (...sizes: number[]) => conn.emit('flush', sizes.map((n) => ({ data: Buffer.alloc(n) })));
  return { conn, reported, stop, flush };
}

describe('transport delivery', () => {
  it('over WebSocket, a batch counts once its transport drains, not when it is handed over', () => {
    const ws = new FakeTransport('websocket');
    const { reported, flush, conn } = connection(ws);
    flush(10, 5);
    conn.emit('flush', [{ data: 'status, not output' }]);
    expect(reported).toEqual([]);
    ws.emit('drain');
    expect(reported).toEqual([15]);
    ws.emit('drain'); // nothing in flight: nothing to report
    flush(7);
    ws.emit('close');
    expect(reported).toEqual([15, 7]);
  });

  it('keeps one pair of listeners per transport however many batches go out', () => {
    const ws = new FakeTransport('websocket');
    const { flush } = connection(ws);
    for (let i = 0; i < 100; i++) {
      flush(1);
      expect(ws.listenerCount('drain') + ws.listenerCount('close')).toBe(2);
      ws.emit('drain');
    }
  });

  it('after an upgrade from polling, the poll’s batch counts on its response and the next on the WebSocket', () => {
    const polling = new FakeTransport('polling');
    const { conn, reported, flush } = connection(polling);
    const res = new EventEmitter();
    polling.res = res;
    flush(3);
    const ws = new FakeTransport('websocket');
    conn.transport = ws;
    flush(4);
    res.emit('close');
    expect(reported).toEqual([3]);
    ws.emit('drain');
    expect(reported).toEqual([3, 4]);
  });

  it('after stop, the batch already out still reports, then nothing is left listening', () => {
    const ws = new FakeTransport('websocket');
    const { conn, reported, flush, stop } = connection(ws);
    flush(9);
    stop();
    flush(100); // not watched any more
    expect(conn.listenerCount('flush')).toBe(0);
    expect(ws.listenerCount('drain')).toBe(1);
    ws.emit('drain');
    expect(reported).toEqual([9]);
    expect(ws.listenerCount('drain') + ws.listenerCount('close')).toBe(0);
  });

  it('over polling, a batch counts when the waiting response has finished or closed', () => {
    const polling = new FakeTransport('polling');
    const { reported, flush } = connection(polling);
    const res = new EventEmitter();
    polling.res = res;
    flush(6);
    expect(reported).toEqual([]);
    res.emit('finish');
    res.emit('close');
    expect(reported).toEqual([6]);
    expect(res.listenerCount('finish') + res.listenerCount('close')).toBe(0);
  });
});
