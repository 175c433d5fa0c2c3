/**
 * A scripted ssh2.Server for the few edge cases real OpenSSH cannot be made to produce on
 * demand: a shell channel dropped mid-stream, and a keyboard-interactive round with several
 * prompts (OpenSSH's PAM bridge sends exactly one prompt per round: `sshpam_query` in
 * auth-pam.c returns at the first PAM prompt, and `sshpam_respond` refuses anything but one
 * answer). Algorithm mismatches and banners come from real sshd (see tests/harness/sshd.ts).
 * Used beside the real sshd, never instead of it.
 */
import { Server, utils, type Connection, type Prompt, type ServerChannel } from 'ssh2';

export interface KbdRound {
  title?: string;
  instructions?: string;
  prompts: Prompt[];
  /** The answers this round accepts, one per prompt, in order. */
  answers: string[];
}

export interface ScriptedServerOptions {
  /** What the shell does once opened. */
  onShell?: (stream: ServerChannel) => void;
  /** Accept any password equal to this (default: "pw"). Ignored when `kbdRounds` is set. */
  password?: string;
  /**
   * Keyboard-interactive only: these rounds are asked in order, each as ONE info request with
   * all of its prompts; login succeeds when every answer matches.
   */
  kbdRounds?: KbdRound[];
}

export interface ScriptedServer {
  port: number;
  connections: number;
  /** Every keyboard-interactive round's answers as received, in order (for assertions). */
  kbdAnswers: string[][];
  close(): Promise<void>;
}

export async function startScriptedServer(opts: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const hostKey = parsableHostKey();
  const clients = new Set<Connection>();
  const state = { connections: 0 };
  const kbdAnswers: string[][] = [];
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    state.connections++;
    clients.add(client);
    client.on('error', () => undefined);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      const rounds = opts.kbdRounds;
      if (rounds) {
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
        const ask = (i: number): void => {
          const round = rounds[i];
          if (!round) return ctx.accept();
          ctx.prompt(round.prompts, round.title ?? '', round.instructions ?? '', (answers) => {
            kbdAnswers.push([...answers]);
            const ok = answers.length === round.answers.length && round.answers.every((a, j) => answers[j] === a);
            if (ok) ask(i + 1);
            else ctx.reject(['keyboard-interactive']);
          });
        };
        return ask(0);
      }
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
    kbdAnswers,
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
