/**
 * Terminal output travels as one bare binary frame per `output` event, not as Socket.IO's
 * binary event (a JSON header frame `451-["output",{"_placeholder":true,"num":0}]` plus
 * an attachment frame). Every other packet keeps Socket.IO's own format.
 *
 * Why: output is almost every message the gateway sends, and the two-frame form costs two
 * WebSocket frames, two socket writes and the placeholder walk per line. Measured on this
 * machine (Socket.IO 4.8, 500 sockets, a 6-byte line each every 20 ms): 33–39 µs of
 * server CPU per emit as two frames written apart, 22–23 µs corked into one write,
 * 16–17 µs as one frame (docs/architecture.md, "One frame, one write per output event").
 *
 * The format is one-way, so each side changes only the half it needs: the server encodes
 * output this way and decodes clients with Socket.IO's default decoder (a client cannot
 * send a bare frame that means anything); the page decodes it and encodes as default.
 * Both sides must use these parsers (`parser` in the server and client options).
 */
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

const OUTPUT_EVENT = 'output';

function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** `["output", <bytes>]` to the main namespace, with no ack: the only packet sent bare. */
function bareOutput(packet: Packet): ArrayBuffer | ArrayBufferView | undefined {
  if (packet.type !== PacketType.EVENT || packet.id !== undefined) return undefined;
  if (packet.nsp !== '/') return undefined;
  const data: unknown = packet.data;
  if (!Array.isArray(data) || data.length !== 2 || data[0] !== OUTPUT_EVENT) return undefined;
  const bytes: unknown = data[1];
  return isBinary(bytes) ? bytes : undefined;
}

class OutputFrameEncoder extends Encoder {
  override encode(packet: Packet): unknown[] {
    const bytes = bareOutput(packet);
    return bytes === undefined ? super.encode(packet) : [bytes];
  }
}

/** A Socket.IO binary packet's header: `5<n>-` (event) or `6<n>-` (ack), n attachments. */
const BINARY_HEADER = /^[56](\d+)-/;

class OutputFrameDecoder extends Decoder {
  /** Binary frames still owed to a default-format binary packet (never sent today). */
  #attachmentsDue = 0;

  override add(frame: unknown): void {
    if (typeof frame === 'string') {
      super.add(frame); // throws on a malformed packet, before the count below changes
      const header = BINARY_HEADER.exec(frame);
      if (header) this.#attachmentsDue = Number(header[1]);
      return;
    }
    if (this.#attachmentsDue > 0) {
      this.#attachmentsDue--;
      super.add(frame);
      return;
    }
    if (!isBinary(frame)) throw new Error('unknown frame type');
    this.emitReserved('decoded', { type: PacketType.EVENT, nsp: '/', data: [OUTPUT_EVENT, frame] });
  }
}

/** For `new Server(http, { parser: serverParser })`. */
export const serverParser = { Encoder: OutputFrameEncoder, Decoder };

/** For `io(url, { parser: clientParser })`. */
export const clientParser = { Encoder, Decoder: OutputFrameDecoder };
