/**
 * The console's recordings (issue 15): the list from `recordings`, and a replay with
 * asciinema-player (the npm package; we write no player). The player fetches the file
 * itself, with the admin token as a Bearer header like every other call of the page.
 */
import * as AsciinemaPlayer from 'asciinema-player';
import type { RecordingListing, RecordingSummary } from '../../src/shared/admin.js';
import { byId, formatTarget } from '../dom.js';

export interface RecordingsView {
  refresh(): Promise<void>;
}

export function createRecordingsView(deps: { api: (method: string, path: string) => Promise<Response>; token: () => string }): RecordingsView {
  const section = byId('recordings', HTMLElement);
  const summary = byId('recordings-message', HTMLElement);
  const table = byId('recordings-table', HTMLTableElement);
  const pane = byId('replay', HTMLElement);
  const title = byId('replay-title', HTMLElement);
  const host = byId('replay-player', HTMLElement);
  let player: AsciinemaPlayer.Player | undefined;

  const stop = () => {
    player?.dispose();
    player = undefined;
    host.replaceChildren();
    pane.hidden = true;
  };
  byId('replay-close', HTMLButtonElement).addEventListener('click', stop);

  const play = (r: RecordingSummary) => {
    stop();
    pane.hidden = false;
    title.textContent = `${r.target ? formatTarget(r.target) : r.session}, ${new Date(r.startedAt).toLocaleString()}${r.state === 'incomplete' ? ' (incomplete)' : ''}`;
    const url = new URL(`recordings/${encodeURIComponent(r.name)}`, location.href).href;
    player = AsciinemaPlayer.create({ url, fetchOpts: { headers: { authorization: `Bearer ${deps.token()}` }, cache: 'no-store' } }, host, {
      autoPlay: true,
      preload: true,
      // Long pauses (someone reading) replay as at most 2 s.
      idleTimeLimit: 2,
      fit: 'width',
    });
  };

  const row = (r: RecordingSummary): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    tr.dataset.name = r.name;
    const cells = [r.target ? formatTarget(r.target) : '(unknown)', r.client ?? '', new Date(r.startedAt).toLocaleString(), `${(r.size / 1024).toFixed(1)} KiB`, r.state, r.session];
    for (const text of cells) tr.insertCell().textContent = text;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = 'Play';
    b.addEventListener('click', () => play(r));
    tr.insertCell().append(b);
    return tr;
  };

  return {
    async refresh() {
      const res = await deps.api('GET', 'recordings');
      if (!res.ok) return;
      const listing = (await res.json()) as RecordingListing;
      section.hidden = !listing.enabled;
      summary.textContent = `${listing.recordings.length} recording(s) on ${listing.node.host}`;
      table.tBodies[0]!.replaceChildren(...listing.recordings.map(row));
    },
  };
}
