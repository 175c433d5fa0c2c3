/**
 * The wire between gateway processes for relayed terminals: Redis pub/sub. Every process
 * subscribes to one broadcast channel (finds) and to its own node channel (everything
 * addressed to it). PUBLISH answers how many subscribers got a message, which gives two
 * facts for free: how many processes must answer a find, and whether a peer process is
 * still there (its subscription dies with its connection, kill -9 included).
 *
 * Not the Socket.IO adapter: its redis-streams transport appends every message to a
 * stream that every process reads, so each keystroke and output batch would cost every
 * worker a wake-up. Pub/sub to one node's channel costs only the two ends.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClientType } from 'redis';
import type { Logger } from '../log.js';
import { decodeFrame, encodeFrame, type FindBody, type FindFrame, type FrameBody, type RelayFrame, type WhereBody, type WhereFrame } from './relayFrames.js';

export interface RelayBus {
  /** This process's key (random per process: a restarted worker is a new node). */
  readonly node: string;
  /** Sends to one process; resolves with the number of processes that got it (0: gone). */
  send(node: string, frame: FrameBody, payload?: Uint8Array | string): Promise<number>;
  /** Sends a find (or a where) to every process, this one included; resolves with how many got it. */
  find(frame: FindBody | WhereBody): Promise<number>;
  /** Which of `nodes` have no subscriber any more. */
  gone(nodes: readonly string[]): Promise<string[]>;
  onFind(handler: (frame: FindFrame | WhereFrame) => void): void;
  onFrame(handler: (frame: RelayFrame, payload: Buffer) => void): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createRelayBus(client: RedisClientType, prefix: string, log: Logger): RelayBus {
  const node = randomBytes(12).toString('base64url');
  const findChannel = `${prefix}relay:find`;
  const nodeChannel = (key: string) => `${prefix}relay:node:${key}`;
  // A subscriber connection keeps the offline queue: node-redis resubscribes after a reconnect.
  const sub = client.duplicate({ disableOfflineQueue: false });
  sub.on('error', () => undefined); // the command client reports Redis trouble
  let findHandler: (frame: FindFrame | WhereFrame) => void = () => undefined;
  let frameHandler: (frame: RelayFrame, payload: Buffer) => void = () => undefined;
  let bad = 0;

  const dispatch = (message: Buffer, handler: (frame: RelayFrame, payload: Buffer) => void): void => {
    const decoded = decodeFrame(message);
    if (!decoded) {
      if (bad++ % 1000 === 0) log.warn('relay frame malformed', { count: bad });
      return;
    }
    try {
      handler(decoded.frame, decoded.payload);
    } catch (err) {
      log.error('relay frame handler failed', { err, frame: decoded.frame.t });
    }
  };

  return {
    node,
    send: (to, frame, payload) => client.publish(nodeChannel(to), encodeFrame({ ...frame, from: node }, payload)),
    find: (frame) => client.publish(findChannel, encodeFrame({ ...frame, from: node })),
    gone: async (nodes) => {
      if (nodes.length === 0) return [];
      const counts = await client.pubSubNumSub(nodes.map(nodeChannel));
      return nodes.filter((n) => !(Number(counts[nodeChannel(n)] ?? 0) > 0));
    },
    onFind: (handler) => {
      findHandler = handler;
    },
    onFrame: (handler) => {
      frameHandler = handler;
    },
    start: async () => {
      await sub.connect();
      await sub.subscribe(findChannel, (m) => dispatch(m, (f) => (f.t === 'find' || f.t === 'where') && f.from !== node && findHandler(f)), true);
      await sub.subscribe(nodeChannel(node), (m) => dispatch(m, (f, p) => frameHandler(f, p)), true);
    },
    close: async () => {
      if (sub.isOpen) await sub.close();
      else sub.destroy();
    },
  };
}
