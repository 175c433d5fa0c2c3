/**
 * Session recordings (issue 15): one asciicast v2 file per session in RECORDINGS_DIR,
 * the admin listing and replay source, and retention. The parts live in recordings/:
 * the format and names (asciicast.ts), one session's writer (recorder.ts), which files
 * retention deletes (retention.ts) and reading the directory (castFiles.ts).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { rename, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingSummary } from '../shared/admin.js';
import type { Logger } from './log.js';
import type { GatewayEvents } from './observe/gatewayEvents.js';
import { castHeader, castFileName, incompleteName, parseCastName } from './recordings/asciicast.js';
import { describeCasts, listCasts, readableEnd, removeIgnoringGone } from './recordings/castFiles.js';
import { CastRecorder } from './recordings/recorder.js';
import { selectForDeletion } from './recordings/retention.js';
import type { SessionTap, TapInfo } from './ssh/sshSession.js';

export interface RecordingSettings {
  dir: string;
  /** Keystrokes too ("i" events): everything typed, passwords at prompts included. */
  recordInput: boolean;
  /** 0 = keep forever. */
  maxAgeMs: number;
  /** Total size of the directory's recordings; 0 = no limit. */
  maxBytes: number;
}

/**
 * What may wait for the disk before a recording gives up, per session and per process.
 * On a healthy disk the backlog is the event loop's delay in running write callbacks:
 * the bench (`recording` scenario, 2 busy cores, ~14 MB/s of terminal output) measured a
 * peak of 1.03 MB, about 70 ms of output. 8 MiB leaves that eight times over, so a fast
 * `cat` is never cut short on a sound disk; past it the disk has stalled. A stall hits
 * every session on the disk at once, hence the process-wide 64 MiB, whatever the number
 * of sessions (RSS at 1,000 idle sessions is ~150 MB).
 */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
export const MAX_BUFFERED_TOTAL = 64 * 1024 * 1024;
/** How long close() waits for files to finish (a drain already gave the sessions their time). */
const CLOSE_WAIT_MS = 5000;
/** Retention runs at startup and this often; a sweep is a readdir and a stat per file. */
export const SWEEP_INTERVAL_MS = 10 * 60_000;

export interface Recordings {
  readonly dir: string;
  /** The SshSession's tap factory: opens the session's file. */
  openTap(info: TapInfo): SessionTap | undefined;
  /** Newest first: what the admin endpoint lists. */
  list(): Promise<RecordingSummary[]>;
  /** A recording's path and the end of its last whole line, or undefined (unknown name). */
  file(name: string): Promise<{ path: string; end: number } | undefined>;
  /** One retention pass (concurrent calls share it); resolves with the names deleted. */
  sweep(): Promise<string[]>;
  /** The pass started at creation. */
  readonly firstSweep: Promise<string[]>;
  /** Bytes waiting for the disk, over every open recording of this process. */
  bufferedBytes(): number;
  /** Names of the recordings this process is writing now. */
  active(): ReadonlySet<string>;
  /** Resolves once that session's recording is closed (and renamed, if cut short). */
  settled(session: string): Promise<void>;
  /** Stops the timer, closes open files and waits for them. */
  close(): Promise<void>;
}

export function createRecordings(settings: RecordingSettings, deps: { log: Logger; events: GatewayEvents; term: string }): Recordings {
  const { dir } = settings;
  const { log, events } = deps;
  // 0700: recordings hold whatever was on screen (and, with RECORD_INPUT, typed).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const open = new Map<string, CastRecorder>();
  /** Session id → its recording's close (and incomplete marking). */
  const finishing = new Map<string, Promise<void>>();
  let sweeping: Promise<string[]> | undefined;
  const budget = { queued: 0, max: MAX_BUFFERED_TOTAL };

  const finish = async (name: string, info: TapInfo, recorder: CastRecorder): Promise<void> => {
    const result = await recorder.done;
    open.delete(name);
    if (!result.incomplete) {
      log.info('recording closed', { session: info.session, file: name, bytes: result.completeBytes, peakBufferedBytes: result.peakBufferedBytes });
      return;
    }
    const path = join(dir, name);
    const renamed = incompleteName(name);
    // Cut at the last whole line (a failed write may leave half of one), then say so in the name.
    await truncate(path, result.completeBytes).catch(() => undefined);
    const final = await rename(path, join(dir, renamed)).then(
      () => renamed,
      () => name,
    );
    log.warn('recording incomplete', { session: info.session, file: final, reason: result.incomplete });
    events.publish('recording.incomplete', { session: info.session, file: final, reason: result.incomplete });
  };

  const sweep = (): Promise<string[]> =>
    (sweeping ??= (async () => {
      try {
        const files = await listCasts(dir);
        const doomed = selectForDeletion(files, settings, Date.now(), new Set(open.keys()));
        // Another worker sweeping the same directory may have taken a file first: fine.
        for (const name of doomed) await removeIgnoringGone(join(dir, name));
        if (doomed.length > 0) log.info('recordings deleted by retention', { count: doomed.length });
        return doomed;
      } catch (err) {
        log.warn('recording retention failed', { err });
        return [];
      } finally {
        sweeping = undefined;
      }
    })());
  const timer = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    dir,
    active: () => new Set(open.keys()),
    openTap(info) {
      // Called as the shell opens: whatever happens here, the session starts.
      try {
        const name = castFileName(info.session, info.startedAt);
        // wx: never append to another session's file; 0600: only the gateway's user reads it.
        const stream = createWriteStream(join(dir, name), { flags: 'wx', mode: 0o600 });
        const recorder = new CastRecorder(stream, castHeader({ ...info, term: deps.term }), { recordInput: settings.recordInput, maxBufferedBytes: MAX_BUFFERED_BYTES, budget });
        open.set(name, recorder);
        const done = finish(name, info, recorder).catch((err: unknown) => log.warn('recording close failed', { err }));
        finishing.set(info.session, done);
        void done.finally(() => finishing.delete(info.session));
        return recorder;
      } catch (err) {
        log.warn('recording not started', { session: info.session, err });
        return undefined;
      }
    },
    list: () => describeCasts(dir, (name) => open.has(name)),
    async file(name) {
      if (!parseCastName(name)) return undefined;
      const path = join(dir, name);
      const end = await readableEnd(path);
      return end === undefined ? undefined : { path, end };
    },
    sweep,
    firstSweep: sweep(),
    settled: async (session) => finishing.get(session),
    bufferedBytes: () => budget.queued,
    async close() {
      clearInterval(timer);
      for (const r of open.values()) r.abort('SHUTTING_DOWN');
      // A disk that hangs (a hard NFS mount) must not hold the process's exit forever.
      let timeout: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => (timeout = setTimeout(resolve, CLOSE_WAIT_MS).unref()));
      await Promise.race([Promise.all([...finishing.values(), sweeping]), gaveUp]);
      clearTimeout(timeout);
    },
  };
}
