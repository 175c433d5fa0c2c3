/**
 * One session's recording: a SessionTap that turns output, input and resizes into
 * asciicast v2 lines on a write stream. It sits on the terminal's hot path, so it never
 * throws, never waits and never queues more than `maxBufferedBytes`: past that (a disk
 * too slow for the output) or at any stream error (ENOSPC, EFBIG, EIO, …) it stops, and
 * `done` says the recording is incomplete. The session never notices either way.
 */
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import type { ErrorCode } from '../../shared/errors.js';
import type { TermSize } from '../../shared/schemas.js';
import type { SessionTap } from '../ssh/sshSession.js';
import { castEvent, resizeData, type CastEventCode } from './asciicast.js';

export interface RecorderOptions {
  recordInput: boolean;
  /** Bytes the stream may hold unwritten before the recording gives up (see recordings.ts). */
  maxBufferedBytes: number;
  /** Shared by every recorder of the process: what all of them hold unwritten, and the limit. */
  budget?: BacklogBudget;
}

export interface BacklogBudget {
  queued: number;
  max: number;
}

export interface RecorderResult {
  /** Why it stopped early (an errno code such as ENOSPC, or BUFFER_FULL); undefined: complete. */
  incomplete: string | undefined;
  /** Bytes of whole lines the disk took: truncating to this leaves a valid file. */
  completeBytes: number;
  /** The most the stream ever held unwritten (the bench reports it). */
  peakBufferedBytes: number;
}

export class CastRecorder implements SessionTap {
  readonly done: Promise<RecorderResult>;
  readonly #t0 = performance.now();
  // Multi-byte characters split across SSH chunks must reach one event whole.
  readonly #out = new StringDecoder('utf8');
  readonly #in = new StringDecoder('utf8');
  #stopped = false;
  #incomplete: string | undefined;
  #completeBytes = 0;
  #peak = 0;

  constructor(
    private readonly stream: Writable,
    header: string,
    private readonly opts: RecorderOptions,
  ) {
    this.done = new Promise((resolve) => {
      stream.once('close', () => resolve({ incomplete: this.#incomplete, completeBytes: this.#completeBytes, peakBufferedBytes: this.#peak }));
    });
    stream.on('error', (err: NodeJS.ErrnoException) => this.#fail(err.code ?? 'EIO'));
    this.#line(header);
  }

  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  output(chunk: Buffer): void {
    if (this.#stopped) return;
    this.#guard(() => {
      const text = this.#out.write(chunk);
      if (text) this.#event('o', text);
    });
  }

  input(data: string | Uint8Array): void {
    if (this.#stopped || !this.opts.recordInput) return;
    this.#guard(() => {
      const text = typeof data === 'string' ? data : this.#in.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      if (text) this.#event('i', text);
    });
  }

  resize(size: TermSize): void {
    if (this.#stopped) return;
    this.#guard(() => this.#event('r', resizeData(size)));
  }

  /** The session ended: the last partial character, a marker with the end code, then close. */
  ended(code: ErrorCode): void {
    if (this.#stopped) return;
    this.#guard(() => {
      const rest = this.#out.end();
      if (rest) this.#event('o', rest);
      // A marker ("m") carries the duration and why it ended; players show it on the timeline.
      this.#event('m', `session ended: ${code}`);
    });
    this.#stop();
  }

  /** Stops recording now (gateway closing, or a failure); the file is closed either way. */
  abort(reason: string): void {
    if (!this.#stopped) this.#fail(reason);
  }

  #event(code: CastEventCode, data: string): void {
    this.#line(castEvent((performance.now() - this.#t0) / 1000, code, data));
  }

  #line(line: string): void {
    const bytes = Buffer.from(line);
    const budget = this.opts.budget;
    if (budget) budget.queued += bytes.length;
    // Callbacks run in write order (a destroyed stream calls the pending ones with an
    // error), so this is the offset of the last whole line on disk.
    this.stream.write(bytes, (err) => {
      if (budget) budget.queued -= bytes.length;
      if (!err) this.#completeBytes += bytes.length;
    });
    const buffered = this.stream.writableLength;
    if (buffered > this.#peak) this.#peak = buffered;
    if (buffered > this.opts.maxBufferedBytes || (budget && budget.queued > budget.max)) this.#fail('BUFFER_FULL');
  }

  #fail(reason: string): void {
    this.#incomplete ??= reason;
    this.#stop();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    // A slow disk still gets what is queued (bounded); a failed stream is already destroyed.
    if (!this.stream.destroyed) this.stream.end();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#fail((err as NodeJS.ErrnoException).code ?? 'EXCEPTION');
    }
  }
}
