/**
 * A scripted SSH server for capacity runs, run as its own process by
 * bench/capacityTargetProcess.ts: `tsx bench/capacityTarget.ts <port> <config.json> [host]`.
 * A real sshd forks a process (and a shell) per session; 5,000 of them would measure
 * the machine's fork budget, not the gateway. This serves every session from one event
 * loop with a shell-like stream: a `$ ` prompt, echo of every byte, the two command
 * lines the bench sends (the echo probe's raw `cat`, load.ts's one-tick-a-second loop),
 * Ctrl-C. Prints `listening <port>` on stdout once it accepts connections.
 */
import { readFileSync } from 'node:fs';
import ssh2, { type AuthContext, type ServerChannel } from 'ssh2';

const { Server, utils } = ssh2;

export interface TargetConfig {
  hostKey: string;
  username: string;
  password: string;
  /** OpenSSH public key line of the bench's user key. */
  publicKey: string;
}

const [portArg, configFile, listenHost = '127.0.0.1'] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configFile!, 'utf8')) as TargetConfig;
const userKey = utils.parseKey(config.publicKey);
if (userKey instanceof Error) throw userKey;

// Output beyond this stays unsent for a session whose reader stopped reading (its SSH
// window is closed): memory per session is bounded whatever the client does.
const MAX_QUEUED_BYTES = 64 * 1024;
const TICK_MS = 1000;
/**
 * Trickling sessions are served in this many groups, one group per tick of one timer: a
 * line a second each. With 10, 500 lines leave at once every 100 ms at 5,000 sessions;
 * real shells running the same loop print at their own phase, spread over the second.
 * BENCH_TRICKLE_SLOTS=100 spreads them (50 lines every 10 ms), which cost the gateway a
 * third more CPU at 5,000 sessions in three runs of five (docs/benchmarks.md, "How
 * bursty the trickle is").
 * The default stays 10, the shape every capacity figure in the docs was measured with.
 */
const slotsWanted = Number(process.env.BENCH_TRICKLE_SLOTS ?? 10);
const TICK_SLOTS = Number.isInteger(slotsWanted) && slotsWanted > 0 ? slotsWanted : 10;

/** One shell: line mode with echo, or raw `cat` mode after the probe's `stty raw`. */
class FakeShell {
  line = '';
  raw = false;
  /** The trickle group it is in, while its loop runs. */
  group: Set<FakeShell> | undefined;
  constructor(readonly stream: ServerChannel) {}
  write(data: string): void {
    if (this.stream.writableLength < MAX_QUEUED_BYTES) this.stream.write(data);
  }
  input(data: string): void {
    for (const ch of data) {
      if (ch === '\x03') {
        this.raw = false;
        this.line = '';
        stopTrickle(this);
        this.write('^C\r\n$ ');
      } else if (this.raw) {
        this.write(ch);
      } else if (ch === '\r' || ch === '\n') {
        this.write('\r\n');
        this.run(this.line);
        this.line = '';
      } else if (this.line.length < 4096) {
        this.line += ch;
        this.write(ch);
      }
    }
  }
  /** The probe's `stty raw -echo isig; echo CAT-$((2+n)); cat` (Ctrl-C ends it) and load.ts's `while …; do echo tick; …` loop. */
  run(line: string): void {
    if (line.includes('stty raw')) {
      this.raw = true;
      const marker = /echo (\w+)-\$\(\((\d+)\+(\d+)\)\)/.exec(line);
      if (marker) this.write(`${marker[1]}-${Number(marker[2]) + Number(marker[3])}\r\n`);
      return;
    }
    if (/^while .*echo tick/.test(line)) return startTrickle(this);
    this.write('$ ');
  }
}

// One timer for all sessions, each tick serving one group (TICK_SLOTS above), without
// 5,000 timers. A session joins the groups in turn, so they stay the same size.
const slots = Array.from({ length: TICK_SLOTS }, () => new Set<FakeShell>());
let joining = 0;
function startTrickle(shell: FakeShell): void {
  if (shell.group) return;
  shell.group = slots[joining]!;
  joining = (joining + 1) % TICK_SLOTS;
  shell.group.add(shell);
}
function stopTrickle(shell: FakeShell): void {
  shell.group?.delete(shell);
  shell.group = undefined;
}
let slot = 0;
setInterval(() => {
  for (const shell of slots[slot]!) shell.write('tick\r\n');
  slot = (slot + 1) % TICK_SLOTS;
}, TICK_MS / TICK_SLOTS);

function authenticate(ctx: AuthContext): void {
  if (ctx.username !== config.username) return ctx.reject();
  if (ctx.method === 'password') return ctx.password === config.password ? ctx.accept() : ctx.reject();
  if (ctx.method !== 'publickey' || userKey instanceof Error) return ctx.reject(['password', 'publickey']);
  const sameKey = ctx.key.algo === userKey.type && ctx.key.data.equals(userKey.getPublicSSH());
  if (!sameKey) return ctx.reject();
  // Without a signature this is the client asking whether the key would do.
  if (!ctx.signature) return ctx.accept();
  return userKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject();
}

const server = new Server({ hostKeys: [config.hostKey] }, (client) => {
  // As the gateway does (docs/architecture.md, "No Nagle on the keystroke path"):
  // without ssh2's native binding a packet goes out in several writes, and Nagle held
  // each echo's tail for the peer's delayed ACK (~90 ms measured here).
  (client as typeof client & { setNoDelay(on: boolean): void }).setNoDelay(true); // in ssh2's Connection, not in its types
  client.on('authentication', authenticate);
  client.on('ready', () => {
    client.on('session', (accept) => {
      const session = accept();
      session.on('pty', (ok) => ok?.());
      session.on('window-change', (ok) => ok?.());
      session.on('env', (ok) => ok?.());
      session.on('shell', (ok) => {
        const shell = new FakeShell(ok());
        shell.stream.on('data', (d: Buffer) => shell.input(d.toString('latin1')));
        shell.stream.on('error', () => undefined);
        shell.stream.on('close', () => stopTrickle(shell));
        shell.write('$ ');
      });
    });
  });
  // A client gone mid-handshake or mid-session: nothing to keep, nothing to log.
  client.on('error', () => undefined);
});
server.on('error', (err: Error) => {
  process.stderr.write(`capacity target: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(portArg), listenHost, () => process.stdout.write(`listening ${portArg}\n`));
process.on('SIGTERM', () => process.exit(0));
