/**
 * The notice banner for gateway `notice` events (e.g. "the gateway restarts soon"),
 * with a live countdown when the notice carries a deadline.
 */
import type { NoticeMessage } from '../src/shared/protocol.js';
import { byId } from './dom.js';

function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return minutes > 0 ? `${minutes}:${String(seconds).padStart(2, '0')}` : `${seconds}s`;
}

export class NoticeBanner {
  private readonly root = byId('notice', HTMLElement);
  private readonly text = byId('notice-text', HTMLElement);
  private readonly countdown = byId('notice-countdown', HTMLElement);
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor() {
    byId('notice-close', HTMLButtonElement).addEventListener('click', () => this.hide());
  }

  show(msg: NoticeMessage): void {
    this.stopCountdown();
    this.text.textContent = typeof msg.message === 'string' ? msg.message : '';
    this.countdown.textContent = '';
    this.countdown.hidden = true;
    const deadline = msg.deadline;
    if (typeof deadline === 'number' && Number.isFinite(deadline)) {
      const tick = (): void => {
        const left = deadline - Date.now();
        this.countdown.textContent = `Closing in ${formatRemaining(left)}`;
        if (left <= 0) this.stopCountdown();
      };
      this.countdown.hidden = false;
      tick();
      this.timer = setInterval(tick, 1000);
    }
    this.root.hidden = false;
  }

  hide(): void {
    this.stopCountdown();
    this.root.hidden = true;
  }

  private stopCountdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
