import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago: listen on port 0, read it, close.
 * Another process can grab it before the caller binds it, so callers that start servers
 * on it should retry on EADDRINUSE (startSshd does).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: unexpected server address'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** The lowest local port the kernel gives outgoing connections (Linux; its default elsewhere). */
function ephemeralLow(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return lo;
  } catch {
    // not Linux
  }
  return 32768;
}

/**
 * `count` consecutive ports that were all free a moment ago (PM2 workers take PORT,
 * PORT+1, …). Picked below the ephemeral range: the workers bind seconds later, and a
 * port from that range can meanwhile become the local end of any outgoing connection on
 * the machine (a clean-clone CI run lost a stack start to it: a worker never listened).
 */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  const ephemeralLo = ephemeralLow();
  const lo = 10_000;
  for (let attempt = 0; attempt < 50 && ephemeralLo - count > lo; attempt++) {
    const base = lo + Math.floor(Math.random() * (ephemeralLo - count - lo));
    let ok = true;
    for (let p = base; ok && p < base + count; p++) ok = await portFree(p, host);
    if (ok) return base;
  }
  // No room below the range (a machine configured so): any free run will do.
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort(host);
    if (base + count > 65535) continue;
    let ok = true;
    for (let p = base + 1; ok && p < base + count; p++) ok = await portFree(p, host);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
