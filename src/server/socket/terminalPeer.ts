/**
 * What a live terminal (socket/liveTerminal.ts) talks to: the page that shows it. A page
 * is either a socket of this process or, through the relay (relay/), a socket of another
 * gateway process; the terminal cannot tell them apart, and need not.
 */
import type { ServerToClientEvents } from '../../shared/protocol.js';
import { TERMINALS_ROOM } from '../cluster/clusterControl.js';
import type { GatewaySocket } from './terminalHandler.js';
import { corkBatches } from './oneWrite.js';
import { watchDelivery } from './transportDelivery.js';

export type PeerEmit = <E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>) => void;

export interface TerminalPeer {
  emit: PeerEmit;
  /** Reports output bytes once they have left the gateway for the page; returns `stop`. */
  watchDelivery(delivered: (bytes: number) => void): () => void;
  /** Cluster-wide notices (admin broadcasts) reach the pages in this room. */
  joinNotices(): void;
  leaveNotices(): void;
}

export function socketPeer(socket: GatewaySocket): TerminalPeer {
  return {
    // One batch, one TCP write (oneWrite.ts); the transport may have changed since the last emit.
    emit: (event, ...args) => {
      corkBatches(socket.conn);
      socket.emit(event, ...args);
    },
    watchDelivery: (delivered) => watchDelivery(socket.conn, delivered),
    joinNotices: () => void socket.join(TERMINALS_ROOM),
    leaveNotices: () => void socket.leave(TERMINALS_ROOM),
  };
}
