/**
 * Terminal-style shortcuts, via xterm's custom key handler:
 *  - Ctrl+Shift+C copies the selection (Ctrl+C always stays ^C for the remote program);
 *  - Ctrl+Shift+V lets the browser's native paste reach xterm (no ^V is sent);
 *  - Ctrl+Shift+F opens the search bar.
 * Cmd+C / Cmd+V on macOS keep working natively through xterm's copy/paste handlers.
 */
import type { Terminal } from '@xterm/xterm';

export interface ShortcutActions {
  openSearch(): void;
}

/** The letter of a shortcut: the layout's key if it is Latin, else the physical key. */
function letterOf(ev: KeyboardEvent): string {
  if (/^[a-z]$/i.test(ev.key)) return ev.key.toLowerCase();
  return /^Key[A-Z]$/.test(ev.code) ? ev.code.slice(3).toLowerCase() : '';
}

export async function copyText(text: string): Promise<void> {
  if (text === '') return;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // Permission denied or no focus: try the legacy path below.
    }
  }
  legacyCopy(text);
}

/** Fallback for plain-HTTP pages, where `navigator.clipboard` does not exist (deprecated API, no alternative). */
function legacyCopy(text: string): void {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  const previous = document.activeElement;
  document.body.append(area);
  area.select();
  try {
    document.execCommand('copy');
  } finally {
    area.remove();
    if (previous instanceof HTMLElement) previous.focus();
  }
}

export function attachShortcuts(term: Terminal, actions: ShortcutActions): void {
  term.attachCustomKeyEventHandler((ev) => {
    if (!ev.ctrlKey || !ev.shiftKey || ev.altKey || ev.metaKey) return true;
    const letter = letterOf(ev);
    if (letter !== 'c' && letter !== 'v' && letter !== 'f') return true;
    // Returning false makes xterm ignore keydown/keypress/keyup alike; act on keydown only.
    if (ev.type !== 'keydown') return false;
    if (letter === 'c') {
      ev.preventDefault(); // e.g. Chrome's "inspect element"
      if (term.hasSelection()) void copyText(term.getSelection());
    } else if (letter === 'f') {
      ev.preventDefault();
      actions.openSearch();
    }
    // 'v': no preventDefault, so the browser fires `paste` on xterm's textarea.
    return false;
  });
  // Ctrl+Shift+F also works when the terminal is not focused (e.g. after a session ended),
  // unless the user is typing into a form field or a dialog is open.
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || !ev.ctrlKey || !ev.shiftKey || ev.altKey || ev.metaKey || letterOf(ev) !== 'f') return;
    const target = ev.target;
    if (target instanceof HTMLElement && target.closest('form, .overlay:not([hidden])')) return;
    if (document.querySelector('.overlay:not([hidden])')) return;
    ev.preventDefault();
    actions.openSearch();
  });
}
