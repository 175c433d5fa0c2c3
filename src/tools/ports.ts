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

/** `count` consecutive ports that were all free a moment ago (PM2 workers take PORT, PORT+1, …). */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort(host);
    if (base + count > 65535) continue;
    let ok = true;
    for (let p = base + 1; ok && p < base + count; p++) ok = await portFree(p, host);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
