/**
 * Keyboard-interactive authentication: one dialog per `kbdPrompt` round, one input per
 * prompt (password-type unless the server asks for echo). Rounds may repeat; a round
 * without prompts is answered with `[]` at once.
 */
import type { KbdPromptMessage } from '../src/shared/protocol.js';
import { LIMITS } from '../src/shared/limits.js';
import { byId, el } from './dom.js';

export class KbdDialog {
  private readonly root = byId('kbd-dialog', HTMLElement);
  private readonly form = byId('kbd-form', HTMLFormElement);
  private readonly title = byId('kbd-name', HTMLElement);
  private readonly instructions = byId('kbd-instructions', HTMLElement);
  private readonly fields = byId('kbd-prompts', HTMLElement);
  private inputs: HTMLInputElement[] = [];
  private pending: ((answers: string[]) => void) | undefined;

  constructor(private readonly onDone: () => void) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const answer = this.pending;
      const answers = this.inputs.map((input) => input.value);
      this.close();
      answer?.(answers);
    });
  }

  get open(): boolean {
    return !this.root.hidden;
  }

  ask(msg: KbdPromptMessage, answer: (answers: string[]) => void): void {
    const prompts = Array.isArray(msg.prompts) ? msg.prompts.slice(0, LIMITS.maxKbdAnswers) : [];
    if (prompts.length === 0) {
      answer([]);
      return;
    }
    this.clear();
    this.pending = answer;
    this.title.textContent = msg.name || 'Authentication';
    this.instructions.textContent = msg.instructions || '';
    this.instructions.hidden = !msg.instructions;

    prompts.forEach((p, i) => {
      const input = el('input');
      input.type = p.echo ? 'text' : 'password';
      input.name = `answer-${i}`;
      input.autocomplete = 'off';
      input.spellcheck = false;
      input.maxLength = LIMITS.maxFieldChars;
      input.setAttribute('autocapitalize', 'off');
      const label = el('label', { className: 'field' });
      label.append(el('span', { text: String(p.prompt ?? '').trim() || `Response ${i + 1}` }), input);
      this.fields.append(label);
      this.inputs.push(input);
    });
    this.root.hidden = false;
    this.inputs[0]?.focus();
  }

  /** Hides the dialog without answering (the session ended meanwhile). */
  cancel(): void {
    if (this.open) this.close();
  }

  private close(): void {
    this.clear();
    this.root.hidden = true;
    this.onDone();
  }

  private clear(): void {
    for (const input of this.inputs) input.value = '';
    this.inputs = [];
    this.fields.replaceChildren();
    this.pending = undefined;
  }
}
