/**
 * relay (issue 13): a terminal used through the worker that owns its SSH connection, and
 * the same kind of session resumed through the other worker, which relays to the owner
 * over Redis pub/sub. On the stack's worker ports (NGINX left out, so each socket reaches
 * the worker it names). Also the memory a detached session holds on its owner.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { SessionListing } from '../../src/shared/admin.js';
import { TerminalClient } from '../../tests/harness/terminalClient.js';
import { liveMemory } from '../liveMemory.js';
import { round } from '../stats.js';
import { benchTerminal, credentials, PROMPT, type BenchPath, type SshTarget } from '../terminals.js';

const browserCookie = () => `webssh_browser=${randomBytes(32).toString('base64url')}`;

/** Opens a resumable session on `ownerUrl`; `via`: then resumes it on that worker (relayed). */
export function relayPath(name: string, ownerUrl: string, sshd: SshTarget, via?: string): BenchPath {
  return {
    name,
    open: async (auth, opts = {}) => {
      const cookie = browserCookie();
      const first = new TerminalClient(ownerUrl, { cookie, autoAck: false, record: false });
      const owned = benchTerminal(first, opts);
      first.start({ host: '127.0.0.1', port: sshd.port, ...credentials(sshd, auth) });
      try {
        await first.waitForAttached(1, 60_000);
        await first.waitForText(PROMPT, 60_000);
      } catch (err) {
        owned.close();
        throw err;
      }
      if (via === undefined) return owned;
      const { session } = first.attached[0]!;
      const { secret } = first.attached.at(-1)!;
      const offset = first.streamOffset;
      owned.close();
      const second = new TerminalClient(via, { cookie, autoAck: false, record: false });
      const relayed = benchTerminal(second, opts);
      second.resume(session, secret, offset);
      try {
        await second.waitForAttached(1, 60_000);
      } catch (err) {
        relayed.close();
        throw err;
      }
      return relayed;
    },
  };
}

async function listing(url: string, token: string): Promise<SessionListing> {
  const res = await fetch(`${url}/ssh/admin/sessions`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`admin listing: ${res.status}`);
  return (await res.json()) as SessionListing;
}

/**
 * Heap and RSS after a full GC on the owning worker: before, with `n` attached sessions
 * that each printed ~110 KB (so each recent-output buffer is full), and with the same
 * sessions detached (sockets closed, SSH sessions waiting for a page).
 */
export async function detachedMemory(url: string, token: string, pid: number, sshd: SshTarget, n: number) {
  const base = await liveMemory(pid);
  const open: TerminalClient[] = [];
  try {
    for (let i = 0; i < n; i += 20) {
      const batch = Array.from({ length: Math.min(20, n - i) }, () => new TerminalClient(url, { cookie: browserCookie(), record: false }));
      open.push(...batch);
      batch.forEach((c) => c.start({ host: '127.0.0.1', port: sshd.port, ...credentials(sshd, 'publickey') }));
      await Promise.all(batch.map((c) => c.waitForAttached(1, 60_000)));
      batch.forEach((c) => c.send('seq 1 20000; echo FILLED-$((6*7))\r'));
      await Promise.all(batch.map((c) => c.waitForText('FILLED-42', 60_000)));
    }
    const attached = await liveMemory(pid);
    const ids = new Set(open.map((c) => c.attached[0]!.session));
    open.forEach((c) => c.close());
    // Detaching follows each socket's close; the listing says when all are detached.
    for (const until = Date.now() + 30_000; ; await delay(100)) {
      const mine = (await listing(url, token)).sessions.filter((s) => ids.has(s.id));
      if (mine.length === n && mine.every((s) => !s.attached)) break;
      if (Date.now() > until) throw new Error('sessions did not all detach within 30 s');
    }
    const detached = await liveMemory(pid);
    const per = (a: number, b: number) => Math.round((b - a) / n / 1024);
    await Promise.all([...ids].map((id) => fetch(`${url}/ssh/admin/sessions/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })));
    return {
      sessions: n,
      heap_per_attached_kb: per(base.heapUsed, attached.heapUsed),
      heap_per_detached_kb: per(base.heapUsed, detached.heapUsed),
      rss_per_detached_kb: per(base.rss, detached.rss),
      external_per_detached_kb: per(base.external, detached.external),
      owner_heap_mb: round(detached.heapUsed / 1e6, 1),
    };
  } finally {
    open.forEach((c) => c.close());
  }
}
