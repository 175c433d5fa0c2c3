/**
 * Operator actions that span every gateway process (all PM2 workers on all hosts that
 * share the Redis): list sessions, end one by id, tell every terminal something.
 * They travel as Socket.IO server-side events through the adapter; each process
 * answers for its own registry. In single-process mode (no adapter) only the local
 * registry exists, and asking the in-memory adapter would just print a warning.
 */
import type { NodeIdentity, SessionListing, SessionSummary } from '../../shared/admin.js';
import type { Logger } from '../log.js';
import type { SessionRegistry } from '../socket/sessionRegistry.js';
import type { GatewayIo } from '../socket/socketServer.js';

/** Sockets with a live (or starting) terminal join this room; notices go to it. */
export const TERMINALS_ROOM = 'terminals';

export interface ClusterControl {
  list(): Promise<SessionListing>;
  /** Ends the session with ADMIN_TERMINATED wherever it runs; false if no process has it. */
  terminate(id: string): Promise<boolean>;
  broadcast(message: string): void;
}

export function createClusterControl(io: GatewayIo, registry: SessionRegistry, node: NodeIdentity, clustered: boolean, log: Logger): ClusterControl {
  const terminateLocal = (id: string): boolean => {
    const session = registry.find(id);
    if (!session) return false;
    log.info('session terminated by admin', { session: id });
    session.end('ADMIN_TERMINATED');
    return true;
  };

  // Answers for this process when another one asks.
  io.on('sessions:list', (reply) => reply(registry.summaries(node)));
  io.on('sessions:terminate', (id, reply) => reply(terminateLocal(id)));

  /** Every other process's answers; a timeout keeps whatever arrived. */
  const askOthers = <T>(emit: (cb: (err: Error | null, responses: T[]) => void) => void): Promise<{ responses: T[]; complete: boolean }> => {
    if (!clustered) return Promise.resolve({ responses: [], complete: true });
    return new Promise((resolve) =>
      emit((err, responses) => {
        if (err) log.warn('some gateway processes did not answer', { err });
        resolve({ responses, complete: !err });
      }),
    );
  };

  return {
    list: async () => {
      const others = await askOthers<SessionSummary[]>((cb) => io.serverSideEmit('sessions:list', cb));
      const sessions = [...registry.summaries(node), ...others.responses.flat()];
      sessions.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      return { sessions, nodes: 1 + others.responses.length, incomplete: !others.complete };
    },
    terminate: async (id) => {
      if (terminateLocal(id)) return true;
      const others = await askOthers<boolean>((cb) => io.serverSideEmit('sessions:terminate', id, cb));
      return others.responses.some(Boolean);
    },
    broadcast: (message) => {
      log.info('notice broadcast', { length: message.length });
      io.to(TERMINALS_ROOM).emit('notice', { message });
    },
  };
}
