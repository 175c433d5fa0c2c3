/**
 * Graceful drain. New connections stop at once (the listener closes and readiness
 * fails), live terminals keep working and are told the deadline; whatever is still
 * open at the deadline is ended cleanly with SHUTTING_DOWN. Live SSH connections
 * cannot move between processes, so draining is all a reload can do for them.
 */
import type { NoticeMessage } from '../shared/protocol.js';
import type { Logger } from './log.js';
import type { SessionRegistry } from './socket/sessionRegistry.js';

export interface DrainDeps {
  registry: SessionRegistry;
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
  deps.log.info('draining', { sessions: live, deadline: new Date(deadline).toISOString() });
  if (live === 0) return;
  deps.notifyLocal({
    message: `This gateway is restarting. Your session stays open until ${new Date(deadline).toISOString()}; reconnect afterwards to continue.`,
    deadline,
  });
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      deps.registry.off('change', check);
      resolve();
    };
    const check = () => {
      if (deps.registry.size === 0) done();
    };
    const timer = setTimeout(() => {
      deps.log.info('drain deadline reached', { sessions: deps.registry.size });
      deps.registry.endAll('SHUTTING_DOWN');
      done();
    }, timeoutMs);
    deps.registry.on('change', check);
  });
}
