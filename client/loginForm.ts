/**
 * The login form (plain HTML in index.html, `#login-form`). Credentials only ever live
 * in memory: the caller gets them on submit; nothing is stored or put into the URL.
 */
import type { PageConfig } from '../src/shared/protocol.js';
import type { CredentialsInput } from '../src/shared/schemas.js';
import { LIMITS } from '../src/shared/limits.js';
import { byId, el, formatTarget } from './dom.js';
import type { ResumeEntry } from './resumeStore.js';

export type Prefill = PageConfig['prefill'];

export class LoginForm {
  private readonly root = byId('login', HTMLElement);
  private readonly form = byId('login-form', HTMLFormElement);
  private readonly message = byId('login-message', HTMLElement);
  private readonly keyFile = byId('key-file', HTMLInputElement);
  private readonly offers = byId('resume-offers', HTMLElement);

  constructor(onSubmit: (credentials: CredentialsInput) => void) {
    this.input('host').maxLength = LIMITS.maxHostChars;
    for (const name of ['username', 'password', 'passphrase']) this.input(name).maxLength = LIMITS.maxFieldChars;
    this.privateKey.maxLength = LIMITS.maxPrivateKeyChars;

    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      onSubmit(this.read());
    });
    this.keyFile.addEventListener('change', () => void this.loadKeyFile());
  }

  get visible(): boolean {
    return !this.root.hidden;
  }

  /** Shows the form; non-empty prefill values replace what the fields hold. */
  show(prefill: Prefill = {}, message?: string): void {
    if (prefill.host) this.input('host').value = prefill.host;
    if (prefill.port) this.input('port').value = String(prefill.port);
    if (prefill.username) this.input('username').value = prefill.username;
    this.message.textContent = message ?? '';
    this.message.hidden = !message;
    this.root.hidden = false;
    // Focus the first field that still needs a value.
    const empty = ['host', 'username', 'password'].map((n) => this.input(n)).find((i) => i.value === '');
    (empty ?? this.submitButton).focus();
  }

  hide(): void {
    this.root.hidden = true;
  }

  /**
   * Sessions this browser left running (issue 13): one "Resume user@host (started 10:32)"
   * button each, above the form, the newest first and focused.
   */
  showOffers(entries: readonly ResumeEntry[], onResume: (entry: ResumeEntry) => void): void {
    this.offers.replaceChildren();
    for (const entry of [...entries].reverse()) {
      const started = new Date(entry.startedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      const button = el('button', { className: 'primary', text: `Resume ${formatTarget(entry.target)} (started ${started})` });
      button.type = 'button';
      button.dataset['session'] = entry.session;
      button.addEventListener('click', () => onResume(entry));
      this.offers.append(button);
    }
    this.offers.hidden = entries.length === 0;
    if (entries.length > 0 && !this.root.hidden) (this.offers.firstElementChild as HTMLButtonElement).focus();
  }

  private read(): CredentialsInput {
    const host = this.input('host').value.trim();
    const port = Number.parseInt(this.input('port').value, 10);
    const credentials: CredentialsInput = {
      host,
      port: Number.isInteger(port) && port > 0 ? port : 22,
      username: this.input('username').value.trim(),
    };
    const password = this.input('password').value;
    const privateKey = this.privateKey.value.trim();
    const passphrase = this.input('passphrase').value;
    if (password !== '') credentials.password = password;
    if (privateKey !== '') credentials.privateKey = `${privateKey}\n`;
    if (passphrase !== '') credentials.passphrase = passphrase;
    return credentials;
  }

  private async loadKeyFile(): Promise<void> {
    const file = this.keyFile.files?.[0];
    this.keyFile.value = '';
    if (!file) return;
    if (file.size > LIMITS.maxPrivateKeyChars) {
      this.showMessage('That file is too large to be a private key.');
      return;
    }
    this.privateKey.value = await file.text();
    this.showMessage('');
  }

  private showMessage(text: string): void {
    this.message.textContent = text;
    this.message.hidden = text === '';
  }

  private get privateKey(): HTMLTextAreaElement {
    const el = this.form.elements.namedItem('privateKey');
    if (!(el instanceof HTMLTextAreaElement)) throw new Error('webssh: missing privateKey textarea');
    return el;
  }

  private get submitButton(): HTMLButtonElement {
    const el = this.form.querySelector('button[type="submit"]');
    if (!(el instanceof HTMLButtonElement)) throw new Error('webssh: missing submit button');
    return el;
  }

  private input(name: string): HTMLInputElement {
    const el = this.form.elements.namedItem(name);
    if (!(el instanceof HTMLInputElement)) throw new Error(`webssh: missing input ${name}`);
    return el;
  }
}
