import { describe, expect, it } from 'vitest';
import { OutputCoalescer } from '../../src/server/core/outputCoalescer.js';

function harness(maxBytes = 10) {
  const sent: string[] = [];
  const queued: (() => void)[] = [];
  const c = new OutputCoalescer((b) => sent.push(b.toString()), maxBytes, (fn) => queued.push(fn));
  return { c, sent, runScheduled: () => queued.splice(0).forEach((fn) => fn()) };
}

describe('OutputCoalescer', () => {
  it('joins the chunks of one I/O turn into one message, in order', () => {
    const { c, sent, runScheduled } = harness();
    c.push(Buffer.from('ab'));
    c.push(Buffer.from('cd'));
    expect(sent).toEqual([]);
    runScheduled();
    expect(sent).toEqual(['abcd']);
  });

  it('sends at once when a batch reaches the size limit', () => {
    const { c, sent, runScheduled } = harness(4);
    c.push(Buffer.from('abc'));
    c.push(Buffer.from('def'));
    expect(sent).toEqual(['abcdef']);
    runScheduled(); // nothing left: no empty message
    expect(sent).toEqual(['abcdef']);
  });

  it('flush() empties the batch so nothing can follow the end of a session', () => {
    const { c, sent, runScheduled } = harness();
    c.push(Buffer.from('last'));
    c.flush();
    runScheduled();
    expect(sent).toEqual(['last']);
  });
});
