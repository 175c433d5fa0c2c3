/**
 * The status bar at the bottom: `#status[data-state]` mirrors the session state, with a
 * text, a tooltip (host key fingerprint), a transient problem message and the
 * reconnect / edit-connection buttons shown once a session is over.
 */
import type { StatusMessage } from '../src/shared/protocol.js';
import type { FailureInfo } from './connection.js';
import type { ClientState, Reconnecting } from './session.js';
import { byId, formatTarget } from './dom.js';
import { formatWait, retryNotBefore } from './retryAfter.js';

const PROBLEM_VISIBLE_MS = 6000;

function formatSeconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

export class StatusBar {
  private readonly root = byId('status', HTMLElement);
  private readonly text = byId('status-text', HTMLElement);
  private readonly detail = byId('status-detail', HTMLElement);
  private readonly problem = byId('status-problem', HTMLElement);
  readonly reconnect = byId('reconnect', HTMLButtonElement);
  readonly editLogin = byId('edit-login', HTMLButtonElement);
  /** Ends the session for good (a closed page or a dropped network only detaches it). */
  readonly disconnect = byId('disconnect', HTMLButtonElement);
  /** Opens the file panel; shown while a terminal is connected. */
  private readonly files = byId('files-toggle', HTMLButtonElement);
  private problemTimer: ReturnType<typeof setTimeout> | undefined;
  private waitTimer: ReturnType<typeof setInterval> | undefined;
  /** Ticks the "Reconnecting in N s" countdown. */
  private countdown: ReturnType<typeof setInterval> | undefined;
  /** Epoch ms before which "Reconnect" stays disabled (RATE_LIMITED). */
  private notBefore = 0;

  /** Whether the gateway asked the page to wait before another attempt. */
  get waiting(): boolean {
    return Date.now() < this.notBefore;
  }

  get state(): ClientState {
    return (this.root.dataset['state'] ?? 'idle') as ClientState;
  }

  set(state: ClientState, text: string, options: { detail?: string; tooltip?: string } = {}): void {
    this.root.dataset['state'] = state;
    this.text.textContent = text;
    this.detail.textContent = options.detail ?? '';
    this.detail.hidden = !options.detail;
    if (options.tooltip) this.root.title = options.tooltip;
    else this.root.removeAttribute('title');
    this.disconnect.hidden = state !== 'connected' && state !== 'reconnecting';
    this.files.hidden = state !== 'connected';
    if (state !== 'reconnecting') clearInterval(this.countdown);
    if (state !== 'ended') {
      this.stopWait();
      this.root.removeAttribute('data-retryable');
      this.root.removeAttribute('data-code');
      this.reconnect.hidden = true;
      this.editLogin.hidden = true;
    }
  }

  /** A `status` event from the gateway. */
  showStatus(msg: StatusMessage, fallbackTarget: string | undefined): void {
    const target = msg.target ? formatTarget(msg.target) : fallbackTarget;
    switch (msg.state) {
      case 'connecting':
        this.set('connecting', `Connecting to ${target ?? 'the SSH server'}…`);
        break;
      case 'authenticating':
        this.set('authenticating', 'Authenticating…', target ? { detail: target } : {});
        break;
      case 'connected':
        this.set('connected', target ? `Connected to ${target}` : 'Connected', {
          ...(msg.hostKey ? { tooltip: `Host key ${msg.hostKey}` } : {}),
        });
        break;
    }
  }

  /**
   * The socket dropped and the page is getting the session back: a countdown to the
   * next attempt, the input waiting for it, and "Reconnect" to try at once.
   */
  showReconnecting(info: Reconnecting): void {
    clearInterval(this.countdown);
    const tick = (): void => {
      const next = Math.max(0, Math.ceil((info.retryAt - Date.now()) / 1000));
      const left = Math.max(0, Math.ceil((info.until - Date.now()) / 1000));
      const pending = info.pendingBytes > 0 ? ` · ${info.pendingBytes} byte${info.pendingBytes === 1 ? '' : 's'} of input pending` : '';
      this.set('reconnecting', next > 0 ? `Reconnecting in ${next} s…` : 'Reconnecting…', {
        detail: `The session waits ${formatSeconds(left)} more${pending}`,
      });
      this.reconnect.hidden = false;
    };
    tick();
    this.countdown = setInterval(tick, 1000);
  }

  /** The session is over: message, code, whether retrying helps, and the buttons. */
  showEnded(info: FailureInfo, canEdit: boolean): void {
    const hint = info.retryable ? 'Reconnecting may help.' : 'Reconnecting unchanged will not help.';
    this.set('ended', info.message, { detail: info.code ? `${info.code} · ${hint}` : hint });
    this.hideProblem();
    this.root.dataset['retryable'] = String(info.retryable);
    if (info.code) this.root.dataset['code'] = info.code;
    this.reconnect.hidden = false;
    this.editLogin.hidden = !canEdit;
    const notBefore = retryNotBefore(info.retryAfterSeconds, Date.now());
    if (notBefore !== undefined) this.startWait(notBefore, info.code ? `${info.code} · ` : '');
  }

  /** Keeps "Reconnect" disabled, with a countdown, until the gateway will take a retry. */
  private startWait(notBefore: number, prefix: string): void {
    this.stopWait();
    this.notBefore = notBefore;
    this.root.dataset['retryAt'] = String(notBefore);
    const tick = (): void => {
      if (Date.now() >= notBefore) {
        this.stopWait();
        this.detail.textContent = `${prefix}You may try again now.`;
        return;
      }
      this.reconnect.disabled = true;
      this.detail.textContent = `${prefix}You may try again in ${formatWait(notBefore, Date.now())}.`;
    };
    tick();
    this.waitTimer = setInterval(tick, 1000);
  }

  private stopWait(): void {
    clearInterval(this.waitTimer);
    this.waitTimer = undefined;
    this.notBefore = 0;
    this.reconnect.disabled = false;
    this.root.removeAttribute('data-retry-at');
  }

  /** A non-fatal problem, shown for a few seconds next to the state. */
  showProblem(message: string): void {
    clearTimeout(this.problemTimer);
    this.problem.textContent = message;
    this.problem.hidden = false;
    this.problemTimer = setTimeout(() => this.hideProblem(), PROBLEM_VISIBLE_MS);
  }

  private hideProblem(): void {
    clearTimeout(this.problemTimer);
    this.problem.hidden = true;
    this.problem.textContent = '';
  }
}
