/**
 * The xterm.js terminal and its addons: fit (refit on container resize), web links,
 * search, Unicode 11 widths, OSC 52 clipboard, and WebGL rendering with a silent
 * fallback to the DOM renderer.
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { SearchAddon } from '@xterm/addon-search';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { ClipboardAddon, type IClipboardProvider } from '@xterm/addon-clipboard';
import { WebglAddon } from '@xterm/addon-webgl';

export interface TerminalView {
  term: Terminal;
  search: SearchAddon;
  /** Refits now (e.g. right before reading the size for `start`). */
  fit(): void;
  /** Which renderer is active; `dom` after a WebGL failure or context loss. */
  renderer(): 'webgl' | 'dom';
}

const RESIZE_DEBOUNCE_MS = 50;

const THEME: ITheme = {
  background: '#101216',
  foreground: '#d8dee9',
  cursor: '#e5e9f0',
  cursorAccent: '#101216',
  selectionBackground: '#3b4a63',
};

/**
 * OSC 52: programs on the host may *set* the clipboard (like `tmux`/`vim` copy), but
 * may never *read* it — a remote host must not learn what the user copied elsewhere.
 */
const writeOnlyClipboard: IClipboardProvider = {
  readText: () => '',
  writeText: async (selection, text) => {
    // 'c' is the system clipboard (ClipboardSelectionType.SYSTEM, a const enum we can't import).
    if ((selection as string) === 'c' && navigator.clipboard) await navigator.clipboard.writeText(text);
  },
};

function openLink(event: MouseEvent, uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
  event.preventDefault();
  window.open(url.href, '_blank', 'noopener,noreferrer');
}

function loadWebgl(term: Terminal, onFallback: () => void): void {
  let addon: WebglAddon | undefined;
  try {
    addon = new WebglAddon();
    const loaded = addon;
    loaded.onContextLoss(() => {
      loaded.dispose();
      onFallback();
    });
    term.loadAddon(loaded);
  } catch {
    try {
      addon?.dispose();
    } catch {
      // Already half-disposed; the DOM renderer takes over either way.
    }
    onFallback();
  }
}

export function createTerminal(container: HTMLElement, preferred: 'webgl' | 'dom'): TerminalView {
  const term = new Terminal({
    // `term.unicode` and the search addon's decorations are "proposed" APIs in xterm 6.
    allowProposedApi: true,
    cursorBlink: true,
    fontFamily: 'ui-monospace, "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: THEME,
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.loadAddon(new WebLinksAddon(openLink));
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = '11';
  term.loadAddon(new ClipboardAddon(undefined, writeOnlyClipboard));

  term.open(container);
  let renderer: 'webgl' | 'dom' = 'dom';
  if (preferred === 'webgl') {
    renderer = 'webgl';
    loadWebgl(term, () => {
      renderer = 'dom';
    });
  }

  const safeFit = (): void => {
    try {
      fit.fit();
    } catch {
      // Not measurable yet (detached or zero-sized); the next resize refits.
    }
  };
  safeFit();

  let timer: ReturnType<typeof setTimeout> | undefined;
  new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(safeFit, RESIZE_DEBOUNCE_MS);
  }).observe(container);

  const defaultTitle = document.title;
  term.onTitleChange((title) => {
    document.title = title.trim() === '' ? defaultTitle : title;
  });

  return { term, search, fit: safeFit, renderer: () => renderer };
}
