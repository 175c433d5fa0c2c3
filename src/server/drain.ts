/**
 * Graceful drain. New connections stop at once (the listener closes and readiness
 * fails), live terminals keep working and are told the deadline; whatever is still
 * open at the deadline is ended cleanly with SHUTTING_DOWN. Live SSH connections
 * cannot move between processes, so draining is all a reload can do for them.
 *
 * File requests this process relays to the owner of their terminal (relay/fileRelay.ts)
 * are waited for too, under the same deadline: the process relaying a download often
 * holds no session at all, and ending at once closed its connections mid-download.
 */
import type { NoticeMessage } from '../shared/protocol.js';
import type { Logger } from './log.js';
import type { SessionRegistry } from './socket/sessionRegistry.js';

/** Work a drain waits for besides sessions: a count, and an event when it changes. */
export interface DrainWork {
  readonly size: number;
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

export interface DrainDeps {
  registry: SessionRegistry;
  /** Requests relayed through this process to another's sessions (FileRelay.relaying). */
  relayed?: DrainWork;
  /** Stops accepting new connections (the listening socket closes). */
  stopAccepting(): void;
  /** Tells every terminal of this process (not the cluster) about the deadline. */
  notifyLocal(msg: NoticeMessage): void;
  log: Logger;
}

export async function drainSessions(deps: DrainDeps, timeoutMs: number, now = Date.now()): Promise<void> {
  const deadline = now + timeoutMs;
  deps.stopAccepting();
  const live = deps.registry.size;
  const relayed = deps.relayed;
  const idle = () => deps.registry.size === 0 && (relayed?.size ?? 0) === 0;
  deps.log.info('draining', { sessions: live, relayedRequests: relayed?.size ?? 0, deadline: new Date(deadline).toISOString() });
  if (idle()) return;
  deps.notifyLocal({
    message: `This gateway is restarting. Your session stays open until ${new Date(deadline).toISOString()}; reconnect afterwards to continue.`,
    deadline,
  });
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      deps.registry.off('change', check);
      relayed?.off('change', check);
      resolve();
    };
    const check = () => {
      if (idle()) done();
    };
    const timer = setTimeout(() => {
      // Relayed requests still under way are cut when the process closes its connections.
      deps.log.info('drain deadline reached', { sessions: deps.registry.size, relayedRequests: relayed?.size ?? 0 });
      deps.registry.endAll('SHUTTING_DOWN');
      done();
    }, timeoutMs);
    deps.registry.on('change', check);
    relayed?.on('change', check);
  });
}
