/**
 * A scripted ssh2.Server for deterministic edge cases real OpenSSH cannot be made to
 * produce on demand (an algorithm it won't offer, a channel dropped mid-stream, a
 * banner). Used beside the real sshd, never instead of it.
 */
import { Server, utils, type Algorithms, type Connection, type ServerChannel } from 'ssh2';

export interface ScriptedServerOptions {
  algorithms?: Algorithms;
  banner?: string;
  /** What the shell does once opened. */
  onShell?: (stream: ServerChannel) => void;
  /** Accept any password equal to this (default: "pw"). */
  password?: string;
}

export interface ScriptedServer {
  port: number;
  connections: number;
  close(): Promise<void>;
}

export async function startScriptedServer(opts: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const hostKey = parsableHostKey();
  const clients = new Set<Connection>();
  const state = { connections: 0 };
  const server = new Server({ hostKeys: [hostKey], ...(opts.algorithms && { algorithms: opts.algorithms }), ...(opts.banner && { banner: opts.banner }) }, (client) => {
    state.connections++;
    clients.add(client);
    client.on('error', () => undefined);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.password === (opts.password ?? 'pw')) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (ok) => ok?.());
        session.on('window-change', (ok) => ok?.());
        session.on('shell', (ok) => {
          const stream = ok();
          stream.on('error', () => undefined);
          opts.onShell?.(stream);
        });
      });
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}

/**
 * ssh2's ed25519 keygen strips leading zero bytes of the public key, so about 1 key in
 * 256 is one its own parser rejects (mscdex/ssh2#1513; 15 of 3000 here). Skip those.
 */
function parsableHostKey(): string {
  for (let i = 0; i < 20; i++) {
    const { private: key, public: pub } = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(key) instanceof Error) && !(utils.parseKey(pub) instanceof Error)) return key;
  }
  throw new Error('ssh2 generated 20 unparsable ed25519 keys in a row');
}
