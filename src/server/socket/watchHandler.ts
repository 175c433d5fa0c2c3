/**
 * An operator's read-only view of a live terminal (issue 13). The socket proves the
 * admin token in its handshake (`auth.adminToken`; a token, not a cookie, so no other
 * site can open one), then sends `watch` with a session id. The terminal may run here
 * or on any process that shares the Redis (the relay). Input is refused, acks and sizes
 * change nothing; the user's page is told when watching starts and stops.
 */
import { z } from 'zod';
import { errorInfo, type ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { GatewayEvents } from '../observe/gatewayEvents.js';
import type { LinkEnd, RelayVisitor } from '../relay/relayVisitor.js';
import type { SessionRegistry } from './sessionRegistry.js';
import type { GatewaySocket } from './terminalHandler.js';
import { socketPeer } from './terminalPeer.js';

export const watchSchema = z.object({ session: z.uuid() }).strict();

export interface WatchContext {
  log: Logger;
  registry: SessionRegistry;
  events?: GatewayEvents;
  relay?: RelayVisitor;
  /** Who is watching, for the log: the address after trusted proxies. */
  clientAddress(socket: GatewaySocket): string;
}

const READ_ONLY_EVENTS = ['input', 'resize', 'kbdAnswers', 'start', 'resume'];

export function attachWatcher(socket: GatewaySocket, ctx: WatchContext): void {
  const log = ctx.log.child({ socket: socket.id });
  const peer = socketPeer(socket);
  /** Ends the current watch (local or relayed); undefined while not watching. */
  let stop: (() => void) | undefined;
  let finding = false;
  let gone = false;
  const problem = (code: ErrorCode, detail?: string) => void socket.emit('problem', errorInfo(code, detail));
  const released = () => void (stop = undefined);

  (socket.on as (e: string, l: (payload: unknown) => void) => void)('watch', (payload) => {
    void (async () => {
      const cmd = watchSchema.safeParse(payload);
      if (!cmd.success) return problem('INVALID_REQUEST', 'watch: a session id (UUID) is required');
      if (stop || finding) return problem('SESSION_ACTIVE', 'already watching a session');
      const id = cmd.data.session;
      const audit = { session: id, watcher: ctx.clientAddress(socket) };
      const live = ctx.registry.terminal(id);
      if (live) {
        stop = live.watch(peer, released);
        ctx.events?.publish('admin.action', { action: 'watch', client: audit.watcher, session: id, found: true, relayed: false });
        return log.info('admin watch started', audit);
      }
      if (!ctx.relay) {
        ctx.events?.publish('admin.action', { action: 'watch', client: audit.watcher, session: id, found: false, relayed: false });
        return void socket.emit('ended', errorInfo('SESSION_NOT_FOUND'));
      }
      finding = true;
      try {
        const opened = await ctx.relay.open({ session: id, watch: true }, peer, (how: LinkEnd) => {
          released();
          if (how === 'reconnect') socket.disconnect(true);
        });
        ctx.events?.publish('admin.action', { action: 'watch', client: audit.watcher, session: id, found: opened.ok, relayed: true });
        if (!opened.ok) return void socket.emit('ended', opened.info);
        if (gone) return opened.link.gone();
        stop = () => opened.link.gone();
        log.info('admin watch started', { ...audit, relayed: true });
      } finally {
        finding = false;
      }
    })().catch((err: unknown) => {
      log.error('watch failed', { err });
      problem('INTERNAL');
    });
  });
  for (const event of READ_ONLY_EVENTS) (socket.on as (e: string, l: () => void) => void)(event, () => problem('READ_ONLY'));
  socket.on('end', () => {
    stop?.();
    stop = undefined;
  });
  socket.on('disconnect', () => {
    gone = true;
    stop?.();
    stop = undefined;
    log.info('admin watch ended');
  });
}
