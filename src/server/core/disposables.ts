/**
 * Every per-session resource (listeners, timers, clients, streams) is registered here
 * and released together, once, on whichever exit path runs first.
 */
export type Disposer = () => void;

export class DisposableStore {
  #items: Disposer[] = [];
  #disposed = false;

  get disposed(): boolean {
    return this.#disposed;
  }

  add(dispose: Disposer): void {
    if (this.#disposed) {
      dispose();
      return;
    }
    this.#items.push(dispose);
  }

  /** A timer that is cleared on dispose. */
  timeout(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    this.add(() => clearTimeout(t));
  }

  /** An event listener that is removed on dispose. */
  on<A extends unknown[]>(
    emitter: { on(e: string, l: (...a: A) => void): unknown; off(e: string, l: (...a: A) => void): unknown },
    event: string,
    listener: (...args: A) => void,
  ): void {
    emitter.on(event, listener);
    this.add(() => emitter.off(event, listener));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Reverse order: later resources may depend on earlier ones.
    for (const d of this.#items.reverse()) {
      try {
        d();
      } catch {
        // A failing disposer must not keep the others from running.
      }
    }
    this.#items = [];
  }
}
