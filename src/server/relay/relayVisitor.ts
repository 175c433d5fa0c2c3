/**
 * The visitor's end of the relay: a page's socket reached this process, its terminal
 * runs on another one (relay/relayOwner.ts). `open` asks every process who owns the
 * session; PUBLISH tells how many got the question, so "nobody has it" is known as soon
 * as every other process said no, not after a timeout. The owner's yes makes a link
 * that forwards the page's input, acks, size and end to the owner, and the owner's
 * events and output to the page.
 *
 * A link ends when the owner ends it (its `ended` event, or `gone`), when the page's
 * socket closes (`gone` to the owner), or when the owner's process is gone (a publish
 * reaches nobody, or the liveness check finds no subscriber): then the page is told
 * SESSION_NOT_FOUND, as a resume after the owner died would be.
 */
import { randomBytes } from 'node:crypto';
import { errorInfo, type ErrorInfo } from '../../shared/errors.js';
import type { ServerToClientEvents } from '../../shared/protocol.js';
import type { Logger } from '../log.js';
import type { TerminalPeer } from '../socket/terminalPeer.js';
import type { RelayBus } from './relayBus.js';
import type { FindBody, FrameBody, RelayFrame } from './relayFrames.js';

/** What the page's handler does with a relayed terminal. */
export interface RelayLink {
  input(data: string | Uint8Array): void;
  resize(size: { cols: number; rows: number }): void;
  ack(bytes: number): void;
  end(): void;
  /** The page's socket closed. */
  gone(reason?: string): void;
}

/** How a link ended, for the page's handler: `ended` was already sent, or the socket must reconnect. */
export type LinkEnd = 'ended' | 'reconnect';

export type OpenResult = { ok: true; link: RelayLink } | { ok: false; info: ErrorInfo };

/** Events an owner may make a page see; anything else in a frame is dropped. */
const PAGE_EVENTS = new Set<keyof ServerToClientEvents>(['status', 'attached', 'kbdPrompt', 'notice', 'problem', 'ended']);

interface Finding {
  answers: number;
  expected: number | undefined;
  refusal: ErrorInfo | undefined;
  settle: (result: OpenResult) => void;
  timer: NodeJS.Timeout;
  /** Builds the link once the owner said yes. */
  accept: (owner: string) => RelayLink;
}

interface Linked {
  owner: string;
  onFrame: (f: RelayFrame, payload: Buffer) => void;
  close: (how: 'owner-lost' | 'owner-gone') => void;
}

export class RelayVisitor {
  readonly #finding = new Map<string, Finding>();
  readonly #links = new Map<string, Linked>();

  constructor(
    private readonly bus: RelayBus,
    private readonly log: Logger,
    /** How long a find waits for processes that did not answer. */
    private readonly findTimeoutMs = 2000,
  ) {}

  get size(): number {
    return this.#links.size;
  }

  /** Owner nodes this process relays to, for the liveness check. */
  nodes(): string[] {
    return [...new Set([...this.#links.values()].map((l) => l.owner))];
  }

  /**
   * Finds the owner of `find.session` and links `peer` (the page) to it. `ended` runs
   * once when an established link ends other than by the page's own `gone`.
   */
  async open(find: Pick<FindBody, 'session' | 'resume' | 'watch'>, peer: TerminalPeer, ended: (how: LinkEnd) => void): Promise<OpenResult> {
    const relay = randomBytes(12).toString('base64url');
    const result = new Promise<OpenResult>((resolve) => {
      const settle = (r: OpenResult) => {
        clearTimeout(finding.timer);
        this.#finding.delete(relay);
        resolve(r);
      };
      const finding: Finding = {
        answers: 0,
        expected: undefined,
        refusal: undefined,
        settle,
        timer: setTimeout(() => settle({ ok: false, info: finding.refusal ?? errorInfo('SESSION_NOT_FOUND', 'no gateway process claimed it in time') }), this.findTimeoutMs),
        accept: (owner) => this.#link(relay, owner, peer, ended),
      };
      this.#finding.set(relay, finding);
    });
    try {
      const receivers = await this.bus.find({ t: 'find', relay, ...find });
      const f = this.#finding.get(relay);
      if (f) {
        f.expected = receivers - 1; // every process but this one answers
        this.#settleIfAnswered(f);
      }
    } catch (err) {
      this.log.warn('relay find failed', { code: 'SERVICE_UNAVAILABLE', err });
      this.#finding.get(relay)?.settle({ ok: false, info: errorInfo('SERVICE_UNAVAILABLE') });
    }
    return result;
  }

  /** A frame for this process as a visitor; false when it is about no relay of ours. */
  onFrame(f: RelayFrame, payload: Buffer): boolean {
    const finding = this.#finding.get(f.relay);
    if (finding) {
      if (f.t === 'ok') finding.settle({ ok: true, link: finding.accept(f.from) });
      else if (f.t === 'none' || f.t === 'refused') {
        finding.answers++;
        if (f.t === 'refused') finding.refusal = f.info;
        this.#settleIfAnswered(finding);
      }
      return true;
    }
    const linked = this.#links.get(f.relay);
    if (!linked || linked.owner !== f.from) return false;
    linked.onFrame(f, payload);
    return true;
  }

  nodeGone(node: string): void {
    for (const l of [...this.#links.values()]) if (l.owner === node) l.close('owner-lost');
  }

  #settleIfAnswered(f: Finding): void {
    if (f.expected === undefined || f.answers < f.expected) return;
    f.settle({ ok: false, info: f.refusal ?? errorInfo('SESSION_NOT_FOUND') });
  }

  #link(relay: string, owner: string, peer: TerminalPeer, ended: (how: LinkEnd) => void): RelayLink {
    let open = true;
    const finish = (): boolean => {
      if (!open) return false;
      open = false;
      this.#links.delete(relay);
      stopWatching();
      peer.leaveNotices();
      return true;
    };
    const close = (how: 'owner-lost' | 'owner-gone') => {
      if (!finish()) return;
      this.log.info('relay ended', { relay, reason: how });
      if (how === 'owner-lost') {
        peer.emit('ended', errorInfo('SESSION_NOT_FOUND', 'the gateway process that held it stopped'));
        ended('ended');
      } else ended('reconnect');
    };
    const send = (frame: FrameBody, payload?: Uint8Array | string) => {
      if (!open) return;
      this.bus.send(owner, frame, payload).then(
        (receivers) => receivers === 0 && close('owner-lost'),
        (err: unknown) => {
          // Redis failed under a live relay: the page reconnects and resumes when it can.
          this.log.warn('relay send failed', { code: 'SERVICE_UNAVAILABLE', relay, err });
          close('owner-gone');
        },
      );
    };
    const stopWatching = peer.watchDelivery((n) => send({ t: 'delivered', relay, n }));
    peer.joinNotices();
    this.#links.set(relay, {
      owner,
      close,
      onFrame: (f, payload) => {
        if (f.t === 'out') peer.emit('output', payload);
        else if (f.t === 'ev' && PAGE_EVENTS.has(f.e as keyof ServerToClientEvents) && Array.isArray(f.a)) {
          (peer.emit as (e: string, ...a: unknown[]) => void)(f.e, ...f.a);
          if (f.e === 'ended' && finish()) ended('ended');
        } else if (f.t === 'gone') close('owner-gone');
      },
    });
    return {
      input: (data) => send({ t: 'in', relay }, data),
      resize: (size) => send({ t: 'resize', relay, size }),
      ack: (n) => send({ t: 'ack', relay, n }),
      end: () => send({ t: 'end', relay }),
      gone: () => {
        send({ t: 'gone', relay });
        finish();
      },
    };
  }
}
