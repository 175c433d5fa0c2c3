/**
 * WebSSH browser client — table of contents:
 *   config.ts      page config (<meta name="webssh-config">) and ?transport/?renderer
 *   terminal.ts    xterm.js + addons (fit, links, search, unicode11, clipboard, webgl)
 *   clipboard.ts   Ctrl+Shift+C / Ctrl+Shift+V / Ctrl+Shift+F
 *   connection.ts  the typed Socket.IO socket and connect-error decoding
 *   session.ts     one session across sockets: start or resume, output + acks, input, reconnect
 *   reconnect.ts   backoff between resume attempts (pure)
 *   resumeStore.ts sessions this browser may resume (localStorage)
 *   flowControl.ts render-ack accounting (pure)
 *   input.ts       input chunking (pure)
 *   retryAfter.ts  RATE_LIMITED's wait: when a retry may start, how long is left (pure)
 *   fileApi.ts     the file endpoints: list, mkdir, rename, delete, download links, resumable uploads
 *   filePanel.ts   the file panel: browse, transfers with progress, drag and drop (transferRate.ts: its text)
 *   app.ts         controller: form/grant start, reconnect, UI routing
 *   loginForm.ts, kbdDialog.ts, statusBar.ts, notice.ts, search.ts: UI pieces
 */
import type { Terminal } from '@xterm/xterm';
import { App } from './app.js';
import { attachShortcuts } from './clipboard.js';
import { readConfig, readOptions } from './config.js';
import { byId } from './dom.js';
import { FileApi } from './fileApi.js';
import { FilePanel } from './filePanel.js';
import { KbdDialog } from './kbdDialog.js';
import { LoginForm } from './loginForm.js';
import { NoticeBanner } from './notice.js';
import { SearchBar } from './search.js';
import { StatusBar } from './statusBar.js';
import { createTerminal } from './terminal.js';

declare global {
  interface Window {
    /** Debug/test aid only: read-only access to the terminal and the session state. */
    __webssh?: { readonly term: Terminal; state(): string };
  }
}

const config = readConfig();
const options = readOptions();
const view = createTerminal(byId('terminal', HTMLElement), options.renderer);
const search = new SearchBar(view.search, view.term);
attachShortcuts(view.term, { openSearch: () => search.show() });

const app: App = new App({
  config,
  options,
  view,
  login: new LoginForm((credentials) => app.startWithCredentials(credentials)),
  status: new StatusBar(),
  notice: new NoticeBanner(),
  kbd: new KbdDialog(() => view.term.focus()),
});

new FilePanel(new FileApi(config.root, () => app.fileAccess()), view.term);

window.__webssh = Object.freeze({ term: view.term, state: () => app.state });
app.boot();
