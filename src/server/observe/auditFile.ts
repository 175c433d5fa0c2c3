/**
 * AUDIT_LOG_FILE: audit lines appended to their own file, opened at startup (a path that
 * cannot be opened is a startup error, not lost lines later), mode 0600 (the trail names
 * users and addresses). Writes are buffered and asynchronous (sonic-boom, pino's own
 * destination), so a slow disk never stalls a terminal; `flush()` before exit.
 */
import { openSync } from 'node:fs';
import pino from 'pino';

export interface AuditFile {
  write(line: string): void;
  /** Writes what is buffered, synchronously (at exit). */
  flush(): void;
}

export function openAuditFile(path: string, onError: (err: Error) => void): AuditFile {
  const fd = openSync(path, 'a', 0o600);
  const dest = pino.destination({ dest: fd, sync: false, minLength: 0 });
  let failed = false;
  dest.on('error', (err: Error) => {
    // Said once: a full disk would otherwise report every line.
    if (!failed) onError(err);
    failed = true;
  });
  return {
    write: (line) => void dest.write(`${line}\n`),
    flush: () => {
      try {
        dest.flushSync();
      } catch {
        // The disk is gone; the error was reported.
      }
    },
  };
}
