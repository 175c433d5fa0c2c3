/**
 * Keepalives for one connected ssh2 Client, sent only when the server has been silent
 * for an interval (core/aliveCheck.ts). ssh2's own keepalive is turned off
 * (`keepaliveInterval: 0`), and two of its internals are used instead:
 *
 * - `Protocol#_onPacket`, which ssh2 calls for every packet it decrypts (a no-op unless
 *   set), tells us the server is there;
 * - `Protocol#ping()` sends the same `keepalive@openssh.com` global request ssh2 sends.
 *   Its reply is matched against ssh2's queue of global-request callbacks, which is
 *   empty here: the gateway makes no other global request (no port forwarding), so
 *   the reply is dropped, as ssh2 drops any unexpected one.
 *
 * ssh2 is pinned in package.json, and tests/unit/keepAlive.test.ts fails if either hook
 * changes.
 */
import { AliveCheck } from '../core/aliveCheck.js';

interface ProtocolInternals {
  _onPacket: () => void;
  ping(): void;
}

/** The server answered nothing to `countMax` keepalives. */
export const KEEPALIVE_COUNT_MAX = 3;

function protocolOf(client: object): ProtocolInternals {
  const proto = (client as { _protocol?: Partial<ProtocolInternals> })._protocol;
  if (typeof proto?._onPacket !== 'function' || typeof proto.ping !== 'function') {
    throw new Error('ssh2 internals changed: Client._protocol._onPacket/ping not found');
  }
  return proto as ProtocolInternals;
}

/**
 * Starts keepalives on a client that is connected (after `ready`); `dead` runs once when
 * the server stopped answering. Returns `stop`, which the session's end calls.
 */
export function keepAlive(client: object, intervalMs: number, dead: () => void, countMax = KEEPALIVE_COUNT_MAX): () => void {
  const proto = protocolOf(client);
  const check = new AliveCheck(countMax);
  proto._onPacket = () => check.heard();
  const timer = setInterval(() => {
    const verdict = check.tick();
    if (verdict === 'ping') proto.ping();
    else if (verdict === 'dead') {
      clearInterval(timer);
      dead();
    }
  }, intervalMs);
  return () => clearInterval(timer);
}
