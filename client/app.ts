/**
 * The controller: starts sessions (from the form or a grant) or resumes one this browser
 * left running, routes terminal input to the current session and session events to the
 * UI, and implements "reconnect" and "disconnect".
 */
import type { Terminal } from '@xterm/xterm';
import type { PageConfig } from '../src/shared/protocol.js';
import type { CredentialsInput, StartRequest } from '../src/shared/schemas.js';
import type { ClientOptions } from './config.js';
import type { KbdDialog } from './kbdDialog.js';
import type { LoginForm, Prefill } from './loginForm.js';
import type { NoticeBanner } from './notice.js';
import type { StatusBar } from './statusBar.js';
import type { TerminalView } from './terminal.js';
import { formatTarget } from './dom.js';
import { forget, listResumable, remember, type ResumeEntry } from './resumeStore.js';
import { Session, type ClientState, type Opening } from './session.js';

export interface AppParts {
  config: PageConfig;
  options: ClientOptions;
  view: TerminalView;
  login: LoginForm;
  status: StatusBar;
  notice: NoticeBanner;
  kbd: KbdDialog;
}

export class App {
  private session: Session | undefined;
  /** Form-mode credentials, kept in memory only so "reconnect" can reuse them. */
  private credentials: CredentialsInput | undefined;
  /** Non-secret: where the last session went, to prefill the form. */
  private lastTarget: Prefill;
  private readonly term: Terminal;

  constructor(private readonly parts: AppParts) {
    this.term = parts.view.term;
    this.lastTarget = { ...parts.config.prefill };
    this.term.onData((data) => this.session?.input(data));
    this.term.onBinary((data) => this.session?.binary(data));
    this.term.onResize(() => this.session?.syncSize());
    parts.status.reconnect.addEventListener('click', () => this.reconnect());
    parts.status.editLogin.addEventListener('click', () => this.showLogin());
    parts.status.disconnect.addEventListener('click', () => this.disconnect());
    // Leaving (or reloading) the page detaches: the session waits for this browser to resume it.
    window.addEventListener('pagehide', () => this.session?.detach());
  }

  get state(): ClientState {
    return this.session?.state ?? 'idle';
  }

  /** What file requests need now (the panel asks at each request): undefined unless connected. */
  fileAccess(): { session: string; secret: string } | undefined {
    return this.session?.fileAccess;
  }

  /** First action after page load, depending on the page's mode. */
  boot(): void {
    if (this.parts.config.mode === 'grant') this.start({ kind: 'grant' });
    else this.showLogin();
  }

  /** Resumes a session this browser left running (a reload, a reopened tab). */
  resume(entry: ResumeEntry): void {
    this.lastTarget = { ...entry.target };
    this.open({ kind: 'resume', entry }, formatTarget(entry.target));
  }

  /** From the login form. */
  startWithCredentials(credentials: CredentialsInput): void {
    this.credentials = credentials;
    const port = Number(credentials.port ?? 22);
    this.lastTarget = { host: credentials.host, port, username: credentials.username };
    this.start({ kind: 'credentials', credentials });
  }

  private showLogin(message?: string): void {
    this.parts.status.set('idle', 'Enter the SSH server and your credentials.');
    this.parts.login.show(this.lastTarget, message);
    this.parts.login.showOffers(listResumable(), (entry) => this.resume(entry));
  }

  /** "Disconnect": ends the session at once, here and on the gateway. */
  private disconnect(): void {
    const session = this.session;
    if (!session) return;
    if (session.id) forget(session.id);
    session.close();
    this.parts.notice.hide();
    this.parts.status.showEnded({ code: 'USER_CLOSED', message: 'You closed the session.', retryable: true }, this.parts.config.mode === 'form' || this.credentials !== undefined);
  }

  private reconnect(): void {
    if (this.session?.state === 'reconnecting') return this.session.reconnectNow();
    const resumable = listResumable().find((e) => e.session === this.session?.id);
    if (resumable) return this.resume(resumable); // e.g. after RESUMED_ELSEWHERE: take it back
    if (this.parts.status.waiting) return; // RATE_LIMITED: the gateway would refuse it unseen
    if (this.parts.config.reloadReconnects) location.reload();
    else if (this.credentials) this.start({ kind: 'credentials', credentials: this.credentials });
    else this.showLogin('Log in again to reconnect.');
  }

  /**
   * `retryIfDraining`: a worker that began draining between our connect and our `start`
   * refuses the session before using any credential; one fresh socket then reaches a
   * worker that is not draining, and the user never sees the refusal.
   */
  private start(auth: StartRequest['auth'], retryIfDraining = true): void {
    const target = auth.kind === 'credentials' ? auth.credentials : this.lastTarget;
    const label = target.host
      ? formatTarget({ username: target.username ?? '', host: target.host, port: Number(target.port ?? 22) })
      : undefined;
    this.open({ kind: 'start', auth }, label, retryIfDraining);
  }

  private open(opening: Opening, label: string | undefined, retryIfDraining = true): void {
    const { login, status, notice, kbd, view } = this.parts;
    if (this.session) {
      this.session.close();
      this.term.reset();
    }
    login.hide();
    kbd.cancel();
    notice.hide();
    view.fit();

    status.set('connecting', opening.kind === 'resume' ? `Resuming ${label ?? 'the session'}…` : `Connecting to ${label ?? 'the SSH server'}…`);
    let answered = false;

    const session: Session = new Session(this.parts.config, this.parts.options, this.term, opening, {
      status: (msg) => {
        answered = true;
        if (msg.target) this.lastTarget = { ...msg.target };
        status.showStatus(msg, label);
        if (msg.state === 'connected' && !kbd.open) this.term.focus();
      },
      attached: (msg, resumed) => {
        answered = true;
        // detachSeconds 0: the gateway keeps nothing for a page that leaves, so offer nothing.
        if (msg.detachSeconds > 0) remember(msg);
        this.lastTarget = { ...msg.target };
        status.showStatus({ state: 'connected', target: msg.target }, label);
        if (resumed) status.showProblem('Resumed: the same session, nothing lost.');
        if (!kbd.open) this.term.focus();
      },
      reconnecting: (info) => status.showReconnecting(info),
      kbdPrompt: (msg, answer) => kbd.ask(msg, answer),
      notice: (msg) => notice.show(msg),
      problem: (err) => status.showProblem(typeof err.message === 'string' ? err.message : 'Problem'),
      ended: (info) => {
        // Taken over by another window: that window keeps it (and has stored its new secret).
        if (session.id && info.code !== 'RESUMED_ELSEWHERE') forget(session.id);
        if (this.session !== session) return;
        if (opening.kind === 'start' && info.code === 'SHUTTING_DOWN' && !answered && retryIfDraining) return this.start(opening.auth, false);
        kbd.cancel();
        notice.hide();
        status.showEnded(info, this.parts.config.mode === 'form' || this.credentials !== undefined);
        status.reconnect.focus();
        // A reload in grant mode finds its grant spent: offer what can be resumed instead.
        if (info.code === 'CREDENTIALS_MISSING' && listResumable().length > 0) this.showLogin();
      },
    });
    this.session = session;
  }
}
