/**
 * The relay (issue 13): any gateway process that shares the Redis can serve a page whose
 * terminal another process owns, for a resume or for an operator watching. This wires
 * both ends to the bus and owns the liveness check that ends relays whose other process
 * is gone without a word (kill -9, a lost host): every `checkMs`, one PUBSUB NUMSUB for
 * the processes this one relays with.
 */
import type { Logger } from '../log.js';
import type { EndedTerminals } from '../socket/endedTerminals.js';
import type { SessionRegistry } from '../socket/sessionRegistry.js';
import type { FileRelay } from './fileRelay.js';
import type { RelayBus } from './relayBus.js';
import { RelayOwner } from './relayOwner.js';
import { RelayVisitor } from './relayVisitor.js';

export interface TerminalRelay {
  visitor: RelayVisitor;
  owner: RelayOwner;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createTerminalRelay(deps: {
  bus: RelayBus;
  registry: SessionRegistry;
  endedTerminals: EndedTerminals;
  log: Logger;
  /** Answers `where`s for file requests (relay/fileRelay.ts). */
  files?: FileRelay;
  checkMs?: number;
}): TerminalRelay {
  const { bus, log } = deps;
  const owner = new RelayOwner(deps);
  const visitor = new RelayVisitor(bus, log);
  bus.onFind((f) => (f.t === 'where' ? deps.files?.onWhere(f) : owner.onFind(f)));
  bus.onFrame((f, payload) => {
    if (deps.files?.onFrame(f) || visitor.onFrame(f, payload) || owner.onFrame(f, payload)) return;
    // A relay this process forgot (it ended here first): the other end learns it is over.
    if (f.t !== 'gone' && f.t !== 'none' && f.t !== 'refused' && f.t !== 'ok' && f.t !== 'here') void bus.send(f.from, { t: 'gone', relay: f.relay }).catch(() => undefined);
  });
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const nodes = [...new Set([...owner.nodes(), ...visitor.nodes()])];
      for (const node of await bus.gone(nodes)) {
        log.warn('relay peer process gone', { node });
        owner.nodeGone(node);
        visitor.nodeGone(node);
      }
    } catch {
      // Redis is down: relays cannot work, and the next check tries again.
    } finally {
      checking = false;
    }
  };
  return {
    visitor,
    owner,
    start: async () => {
      await bus.start();
      timer = setInterval(() => void check(), deps.checkMs ?? 5000);
      timer.unref();
    },
    close: async () => {
      clearInterval(timer);
      owner.close();
      deps.files?.close();
      await bus.close();
    },
  };
}
