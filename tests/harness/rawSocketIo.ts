/**
 * A Socket.IO client at the wire level (engine.io v4 long-polling), for attacks the real
 * client cannot express: several packets in one HTTP body (one read on the server, so
 * they are processed back to back) and packets the real client never builds (`42`,
 * `42[1]`). Each call is one HTTP request; every wait is bounded.
 */

/** engine.io v4 joins packets of one polling payload with the record separator. */
const SEPARATOR = '\x1e';

export interface RawOptions {
  basePath?: string;
  /** Sent on the handshake request only, where the gateway reads the HTTP session. */
  cookie?: string;
}

export class RawSocketIo {
  /** Every `42[...]` event the server sent so far, as `[name, ...args]`. */
  readonly events: unknown[][] = [];

  private constructor(
    private readonly endpoint: string,
    private readonly sid: string,
  ) {}

  /** Opens the engine.io session and joins the main namespace. */
  static async connect(url: string, opts: RawOptions = {}): Promise<RawSocketIo> {
    const endpoint = `${url}${opts.basePath ?? '/ssh'}/socket.io/?EIO=4&transport=polling`;
    const res = await fetch(endpoint, { headers: opts.cookie ? { cookie: opts.cookie } : {}, signal: AbortSignal.timeout(10_000) });
    const open = await res.text();
    if (!res.ok || !open.startsWith('0')) throw new Error(`engine.io handshake failed: ${res.status} ${open}`);
    const { sid } = JSON.parse(open.slice(1)) as { sid: string };
    const raw = new RawSocketIo(endpoint, sid);
    await raw.send('40');
    await raw.waitFor('namespace connect', (p) => p.startsWith('40'));
    return raw;
  }

  /** Sends `packets` in one POST body, so the server decodes them in one go. */
  async send(...packets: string[]): Promise<void> {
    const res = await fetch(`${this.endpoint}&sid=${this.sid}`, { method: 'POST', body: packets.join(SEPARATOR), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`POST failed: ${res.status} ${await res.text()}`);
  }

  /** `42["name",...args]` */
  static event(name: string, ...args: unknown[]): string {
    return `42${JSON.stringify([name, ...args])}`;
  }

  /**
   * Long-polls until a received packet satisfies `match` (answering pings meanwhile);
   * fails after `ms`. Events are also collected in `events`.
   */
  async waitFor(what: string, match: (packet: string) => boolean, ms = 15_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const res = await fetch(`${this.endpoint}&sid=${this.sid}`, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) }).catch((err: unknown) => {
        throw new Error(`waiting for ${what}: ${String(err)}`);
      });
      const body = await res.text();
      if (!res.ok) throw new Error(`waiting for ${what}: GET ${res.status} ${body}`);
      for (const packet of body.split(SEPARATOR)) {
        if (packet === '2') await this.send('3'); // engine.io ping → pong
        if (packet.startsWith('42[')) this.events.push(JSON.parse(packet.slice(2)) as unknown[]);
        if (match(packet)) return packet;
      }
    }
    throw new Error(`timed out after ${ms} ms waiting for ${what}; events so far: ${JSON.stringify(this.events)}`);
  }

  /** Waits for the server's event `name` whose first argument satisfies `pred`. */
  async waitForEvent(name: string, pred: (arg: unknown) => boolean = () => true, ms?: number): Promise<unknown> {
    const seen = () => this.events.find((e) => e[0] === name && pred(e[1]));
    const found = seen();
    if (found) return found[1];
    await this.waitFor(`event ${name}`, () => seen() !== undefined, ms);
    return seen()?.[1];
  }

  /** Closes the engine.io session (the server sees a disconnect at once). */
  close(): Promise<void> {
    return this.send('1').catch(() => undefined);
  }
}
