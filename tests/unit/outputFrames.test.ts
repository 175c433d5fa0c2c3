import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { clientParser, serverParser } from '../../src/shared/outputFrames.js';

function decodeAll(decoder: InstanceType<typeof clientParser.Decoder>, frames: unknown[]): Packet[] {
  const got: Packet[] = [];
  decoder.on('decoded', (p: Packet) => got.push(p));
  for (const f of frames) decoder.add(f);
  return got;
}

const output = (bytes: Uint8Array, extra: Partial<Packet> = {}): Packet => ({ type: PacketType.EVENT, nsp: '/', data: ['output', bytes], ...extra });

describe('output frames', () => {
  it('the server sends an output event as one bare binary frame holding the same bytes', () => {
    const bytes = Buffer.from('hello\r\n');
    const frames = new serverParser.Encoder().encode(output(bytes));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toBe(bytes);
    // Socket.IO's own format is two frames: the JSON header with a placeholder, then the bytes.
    expect(new Encoder().encode(output(bytes))).toHaveLength(2);
  });

  it('every other packet keeps Socket.IO’s own format', () => {
    const packets: Packet[] = [
      { type: PacketType.EVENT, nsp: '/', data: ['status', { state: 'connected' }] },
      { type: PacketType.CONNECT, nsp: '/', data: { sid: 'x' } },
      output(Buffer.from('ack me'), { id: 7 }), // an ack id: not bare
      output(Buffer.from('elsewhere'), { nsp: '/admin' }), // another namespace: not bare
      { type: PacketType.EVENT, nsp: '/', data: ['output', 'text, not bytes'] },
      { type: PacketType.EVENT, nsp: '/', data: ['notice', Buffer.from('binary, not output')] },
    ];
    for (const p of packets) expect(new serverParser.Encoder().encode(p)).toEqual(new Encoder().encode(p));
  });

  it('the page decodes bare frames as output, between and after Socket.IO’s own packets', () => {
    const enc = new serverParser.Encoder();
    const sent: Packet[] = [
      { type: PacketType.EVENT, nsp: '/', data: ['status', { state: 'connected' }] },
      output(Buffer.from('one')),
      { type: PacketType.EVENT, nsp: '/', data: ['notice', Buffer.from('two attachments'), Buffer.from('!')] },
      output(Buffer.from('two')),
      output(Buffer.from('three'), { id: 3 }),
      output(Buffer.from('four')),
    ];
    const frames = sent.flatMap((p) => enc.encode(p));
    expect(frames).toHaveLength(1 + 1 + 3 + 1 + 2 + 1);
    const got = decodeAll(new clientParser.Decoder(), frames);
    expect(got.map((p) => [p.id, ...(p.data as unknown[]).map((d) => (Buffer.isBuffer(d) ? d.toString() : d))])).toEqual([
      [undefined, 'status', { state: 'connected' }],
      [undefined, 'output', 'one'],
      [undefined, 'notice', 'two attachments', '!'],
      [undefined, 'output', 'two'],
      [3, 'output', 'three'],
      [undefined, 'output', 'four'],
    ]);
    expect(got.every((p) => p.type === PacketType.EVENT && p.nsp === '/')).toBe(true);
  });

  it('a malformed packet is refused without upsetting the frames after it', () => {
    const d = new clientParser.Decoder();
    const got: Packet[] = [];
    d.on('decoded', (p: Packet) => got.push(p));
    expect(() => d.add('5x-["output",{"_placeholder":true,"num":0}]')).toThrow();
    expect(() => d.add('9garbage')).toThrow();
    expect(() => d.add(42)).toThrow();
    d.add(Buffer.from('still output'));
    expect(got).toHaveLength(1);
    expect((got[0]!.data as unknown[])[0]).toBe('output');
  });

  it('the server does not take a bare frame from a page: a client cannot send one that means anything', () => {
    const d = new serverParser.Decoder();
    expect(d).toBeInstanceOf(Decoder);
    expect(() => d.add(Buffer.from('input?'))).toThrow(/not reconstructing/);
  });
});
