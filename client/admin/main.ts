/**
 * The admin console (issue 13), served at `<base>/admin/`: lists every session of the
 * cluster, ends one, and watches one read-only. The page itself holds nothing: every
 * call carries the admin token the operator types (kept for this tab only), as a Bearer
 * header for the API and in the Socket.IO handshake for watching.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { io, type Socket } from 'socket.io-client';
import type { SessionListing, SessionSummary } from '../../src/shared/admin.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/shared/protocol.js';
import { clientParser } from '../../src/shared/outputFrames.js';
import { byId, formatTarget } from '../dom.js';
import { createRecordingsView } from './recordings.js';

const TOKEN_KEY = 'webssh-admin-token';
let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;

const tokenInput = byId('token', HTMLInputElement);
const message = byId('message', HTMLElement);
const table = byId('sessions', HTMLTableElement);
const watchPane = byId('watch', HTMLElement);
const watchStatus = byId('watch-status', HTMLElement);
const term = new Terminal({ disableStdin: true, cursorBlink: false, scrollback: 5000, theme: { background: '#101216' } });
const fit = new FitAddon();
term.loadAddon(fit);
term.open(byId('watch-terminal', HTMLElement));

const say = (text: string) => void (message.textContent = text);
const recordings = createRecordingsView({ api: (method, path) => api(method, path), token: () => token });

async function api(method: string, path: string): Promise<Response> {
  return fetch(new URL(path, location.href), { method, headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
}

async function refresh(): Promise<void> {
  const res = await api('GET', 'sessions');
  if (!res.ok) return say(res.status === 401 ? 'Wrong admin token.' : `The gateway answered ${res.status}.`);
  const listing = (await res.json()) as SessionListing;
  say(`${listing.sessions.length} session(s) on ${listing.nodes} gateway process(es)${listing.incomplete ? ' (some did not answer)' : ''}`);
  const body = table.tBodies[0]!;
  body.replaceChildren(...listing.sessions.map(row));
  table.hidden = false;
  await recordings.refresh();
}

function row(s: SessionSummary): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const state = s.attached ? 'attached' : `detached since ${new Date(s.detachedSince ?? s.startedAt).toLocaleTimeString()}`;
  const cells = [
    s.target ? formatTarget(s.target) : '(connecting)',
    s.client,
    `${s.node.host}${s.node.instance === null ? '' : `#${s.node.instance}`} (pid ${s.node.pid})`,
    new Date(s.startedAt).toLocaleString(),
    s.watchers > 0 ? `${state}, ${s.watchers} watching` : state,
    `${(s.bytesOut / 1024).toFixed(1)} KiB`,
  ];
  for (const text of cells) tr.insertCell().textContent = text;
  const actions = tr.insertCell();
  actions.append(
    button('Watch', () => watch(s)),
    button('End', async () => {
      if (!confirm(`End the session of ${cells[0]}? Its user sees "ended by an administrator".`)) return;
      const res = await api('DELETE', `sessions/${s.id}`);
      say(res.ok ? 'Session ended.' : `Could not end it (${res.status}).`);
      await refresh();
    }, 'danger'),
  );
  return tr;
}

function button(label: string, onClick: () => unknown, cls?: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', () => void onClick());
  return b;
}

function watch(s: SessionSummary): void {
  stopWatching();
  watchPane.hidden = false;
  term.reset();
  fit.fit();
  const who = s.target ? formatTarget(s.target) : s.id;
  watchStatus.textContent = `Connecting to ${who}…`;
  const current: Socket<ServerToClientEvents, ClientToServerEvents> = io({ path: new URL('../socket.io', location.href).pathname, auth: { adminToken: token }, reconnection: false, parser: clientParser });
  socket = current;
  current.on('connect', () => current.emit('watch', { session: s.id }));
  current.on('status', () => void (watchStatus.textContent = `Watching ${who} (read-only; the user has been told)`));
  current.on('output', (data) => term.write(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
  current.on('ended', (info) => void (watchStatus.textContent = `Stopped: ${info.message}`));
  current.on('problem', (info) => void (watchStatus.textContent = info.message));
  current.on('disconnect', () => {
    if (socket === current && !watchStatus.textContent?.startsWith('Stopped')) watchStatus.textContent = 'Disconnected.';
  });
}

function stopWatching(): void {
  socket?.disconnect();
  socket = undefined;
}

byId('token-form', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  token = tokenInput.value;
  sessionStorage.setItem(TOKEN_KEY, token);
  void refresh();
});
byId('refresh', HTMLButtonElement).addEventListener('click', () => void refresh());
byId('watch-stop', HTMLButtonElement).addEventListener('click', () => {
  stopWatching();
  watchPane.hidden = true;
});
tokenInput.value = token;
if (token) void refresh();
