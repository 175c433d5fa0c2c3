/**
 * The file panel beside the terminal (issue 14): browse the remote directories, make,
 * rename and delete, download through the browser's download manager, and upload by
 * picking files or dropping them on the terminal or the panel, with a progress bar per
 * file (bytes, rate, time left), cancel, and a question before overwriting.
 * Opened with the "Files" button or Ctrl+Shift+E.
 */
import type { Terminal } from '@xterm/xterm';
import { byId, el } from './dom.js';
import { FileError, type FileApi, type RemoteEntry } from './fileApi.js';
import { formatBytes, transferText } from './transferRate.js';

export class FilePanel {
  private readonly root = byId('files', HTMLElement);
  private readonly pathInput = byId('files-path', HTMLInputElement);
  private readonly list = byId('files-list', HTMLTableSectionElement);
  private readonly message = byId('files-message', HTMLElement);
  private readonly transfers = byId('files-transfers', HTMLElement);
  private readonly picker = byId('files-picker', HTMLInputElement);
  private readonly cwdButton = byId('files-cwd', HTMLButtonElement);
  private path = '.';
  /** The shell's directory, when it reports one (OSC 7, as fish, zsh and many bash setups do). */
  private shellDir: string | undefined;

  constructor(
    private readonly api: FileApi,
    term: Terminal,
  ) {
    byId('files-toggle', HTMLButtonElement).addEventListener('click', () => this.toggle());
    byId('files-close', HTMLButtonElement).addEventListener('click', () => this.toggle(false));
    byId('files-up', HTMLButtonElement).addEventListener('click', () => void this.open(parentOf(this.path)));
    byId('files-home', HTMLButtonElement).addEventListener('click', () => void this.open('.'));
    byId('files-refresh', HTMLButtonElement).addEventListener('click', () => void this.open(this.path));
    byId('files-mkdir', HTMLButtonElement).addEventListener('click', () => void this.mkdir());
    byId('files-upload', HTMLButtonElement).addEventListener('click', () => this.picker.click());
    this.cwdButton.addEventListener('click', () => this.shellDir && void this.open(this.shellDir));
    this.picker.addEventListener('change', () => {
      this.uploadAll([...(this.picker.files ?? [])]);
      this.picker.value = '';
    });
    this.pathInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void this.open(this.pathInput.value.trim() || '.');
    });
    document.addEventListener(
      'keydown',
      (e) => {
        if (e.ctrlKey && e.shiftKey && e.code === 'KeyE') {
          e.preventDefault();
          this.toggle();
        }
      },
      { capture: true },
    );
    for (const target of [byId('terminal', HTMLElement), this.root]) {
      target.addEventListener('dragover', (e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      });
      target.addEventListener('drop', (e) => {
        const files = [...(e.dataTransfer?.files ?? [])];
        if (files.length === 0) return;
        e.preventDefault();
        this.toggle(true);
        this.uploadAll(files);
      });
    }
    term.parser.registerOscHandler(7, (data) => {
      // file://host/path, percent-encoded.
      const m = /^file:\/\/[^/]*(\/.*)$/.exec(data);
      if (m) this.shellDir = decodeURIComponent(m[1]!);
      this.cwdButton.disabled = this.shellDir === undefined;
      return true;
    });
  }

  toggle(show = this.root.hidden): void {
    this.root.hidden = !show;
    if (show) void this.open(this.path);
  }

  private say(text: string, bad = false): void {
    this.message.textContent = text;
    this.message.classList.toggle('bad', bad);
  }

  private fail(err: unknown): void {
    const code = err instanceof FileError ? ` (${err.info.code})` : '';
    this.say(`${(err as Error).message}${code}`, true);
  }

  async open(path: string): Promise<void> {
    try {
      const listing = await this.api.list(path);
      this.path = listing.path;
      this.pathInput.value = listing.path;
      this.list.replaceChildren(...listing.entries.map((e) => this.row(e)));
      this.say(`${listing.entries.length} entries`);
    } catch (err) {
      this.fail(err);
    }
  }

  private row(e: RemoteEntry): HTMLTableRowElement {
    const tr = el('tr');
    const full = joinPath(this.path, e.name);
    const isDir = e.kind === 'dir' || e.target === 'dir';
    const name = el('button', { className: `name ${isDir ? 'dir' : 'file'}`, text: isDir ? `${e.name}/` : e.name });
    name.addEventListener('click', () => (isDir ? void this.open(full) : void this.api.download(full).catch((err: unknown) => this.fail(err))));
    tr.insertCell().append(name);
    tr.insertCell().textContent = isDir ? '' : formatBytes(e.size);
    tr.insertCell().textContent = new Date(e.mtime).toLocaleString();
    tr.insertCell().textContent = e.kind === 'link' ? `link → ${e.target ?? '?'}` : e.kind;
    const actions = tr.insertCell();
    if (!isDir) actions.append(this.action('⤓', `Download ${e.name}`, () => this.api.download(full)));
    actions.append(
      this.action('✎', `Rename ${e.name}`, async () => {
        const to = prompt(`Rename ${e.name} to:`, e.name);
        if (to && to !== e.name) await this.api.rename(full, to.includes('/') ? to : joinPath(this.path, to));
        await this.open(this.path);
      }),
      this.action('✕', `Delete ${e.name}`, async () => {
        if (!confirm(`Delete ${full}${isDir ? ' (an empty folder)' : ''}? This cannot be undone.`)) return;
        await this.api.remove(full);
        await this.open(this.path);
      }),
    );
    return tr;
  }

  private action(label: string, title: string, fn: () => Promise<unknown>): HTMLButtonElement {
    const b = el('button', { className: 'icon', text: label });
    b.type = 'button';
    b.title = title;
    b.setAttribute('aria-label', title);
    b.addEventListener('click', () => void fn().catch((err: unknown) => this.fail(err)));
    return b;
  }

  private async mkdir(): Promise<void> {
    const name = prompt('New folder name:');
    if (!name) return;
    try {
      await this.api.mkdir(joinPath(this.path, name));
      await this.open(this.path);
    } catch (err) {
      this.fail(err);
    }
  }

  private uploadAll(files: File[]): void {
    const dir = this.path;
    for (const file of files) void this.uploadOne(file, dir);
  }

  private async uploadOne(file: File, dir: string, overwrite = false): Promise<void> {
    const item = el('div', { className: 'transfer' });
    const label = el('span', { className: 'label', text: file.name });
    const bar = el('progress');
    bar.max = file.size || 1;
    const info = el('span', { className: 'info', text: 'starting…' });
    const cancel = el('button', { className: 'icon', text: '×' });
    cancel.type = 'button';
    cancel.title = `Cancel ${file.name}`;
    item.append(label, bar, info, cancel);
    this.transfers.append(item);
    const abort = new AbortController();
    cancel.addEventListener('click', () => abort.abort());
    const started = performance.now();
    try {
      await this.api.upload(file, joinPath(dir, file.name), {
        overwrite,
        signal: abort.signal,
        progress: (p) => {
          bar.value = p.sent;
          info.textContent = transferText(p.sent, p.total, performance.now() - started);
        },
      });
      bar.value = bar.max;
      info.textContent = `done: ${formatBytes(file.size)}`;
      item.dataset['state'] = 'done';
      cancel.remove();
      if (dir === this.path) await this.open(this.path);
    } catch (err) {
      item.dataset['state'] = 'failed';
      cancel.remove();
      if (err instanceof FileError && err.info.code === 'FILE_EXISTS' && !overwrite) {
        item.remove();
        if (confirm(`${file.name} already exists in ${dir}. Overwrite it?`)) return this.uploadOne(file, dir, true);
        return;
      }
      const resumable = err instanceof FileError && err.info.resumable ? ' The partial file is kept: upload again to resume.' : '';
      info.textContent = `${(err as Error).message}${err instanceof FileError ? ` (${err.info.code})` : ''}${resumable}`;
    }
  }
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

function parentOf(path: string): string {
  if (path === '/' || path === '.') return path === '.' ? '..' : '/';
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
