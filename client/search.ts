/**
 * The search bar over the scrollback (SearchAddon): Ctrl+Shift+F opens it, typing
 * searches incrementally, Enter = next, Shift+Enter = previous, Esc closes.
 */
import type { Terminal } from '@xterm/xterm';
import type { ISearchOptions, SearchAddon } from '@xterm/addon-search';
import { byId } from './dom.js';

const OPTIONS: ISearchOptions = {
  decorations: {
    matchBackground: '#3b4a63',
    matchOverviewRuler: '#8fa1b3',
    activeMatchBackground: '#b58900',
    activeMatchColorOverviewRuler: '#e5c07b',
  },
};

export class SearchBar {
  private readonly root = byId('search', HTMLElement);
  private readonly input = byId('search-input', HTMLInputElement);
  private readonly count = byId('search-count', HTMLElement);

  constructor(
    private readonly addon: SearchAddon,
    private readonly term: Terminal,
  ) {
    addon.onDidChangeResults(({ resultIndex, resultCount }) => {
      if (this.input.value === '') this.count.textContent = '';
      else if (resultCount === 0) this.count.textContent = 'No results';
      else this.count.textContent = resultIndex >= 0 ? `${resultIndex + 1}/${resultCount}` : `${resultCount}+`;
    });
    this.input.addEventListener('input', () => this.find('next', true));
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        this.find(ev.shiftKey ? 'previous' : 'next');
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        this.close();
      }
    });
    byId('search-next', HTMLButtonElement).addEventListener('click', () => this.find('next'));
    byId('search-prev', HTMLButtonElement).addEventListener('click', () => this.find('previous'));
    byId('search-close', HTMLButtonElement).addEventListener('click', () => this.close());
  }

  get open(): boolean {
    return !this.root.hidden;
  }

  show(): void {
    this.root.hidden = false;
    // Start from the current selection, the way editors do.
    if (this.term.hasSelection()) {
      const selected = this.term.getSelection();
      if (!selected.includes('\n')) this.input.value = selected;
    }
    this.input.focus();
    this.input.select();
    if (this.input.value !== '') this.find('next', true);
  }

  close(): void {
    if (!this.open) return;
    this.root.hidden = true;
    this.addon.clearDecorations();
    this.count.textContent = '';
    this.term.focus();
  }

  private find(direction: 'next' | 'previous', incremental = false): void {
    const text = this.input.value;
    if (text === '') {
      this.addon.clearDecorations();
      this.count.textContent = '';
      return;
    }
    if (direction === 'next') this.addon.findNext(text, { ...OPTIONS, incremental });
    else this.addon.findPrevious(text, OPTIONS);
  }
}
