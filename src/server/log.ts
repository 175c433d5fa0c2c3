/**
 * JSON-lines logging with pino. Secrets never reach it by construction (credentials are
 * not passed to it); as a second line of defence pino's `redact` blanks every field named
 * like a credential, at the top level and two levels down (`creds.password`,
 * `req.headers.cookie`). Our `Logger` keeps the call shape the code base uses
 * (`log.info(msg, fields)`); pino does the formatting, levels and child bindings.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Field names that may hold a credential, wherever a caller put them. */
export const SECRET_FIELDS = ['password', 'passphrase', 'privateKey', 'secret', 'token', 'adminToken', 'authorization', 'cookie', 'answers', 'credentials'] as const;
const REDACT_PATHS = SECRET_FIELDS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** An Error as a log field: what went wrong, never the request or config objects it may carry. */
function errorFields(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
}

/**
 * `write` gets one JSON line (no newline) per record; default: stdout. `base` fields
 * (instance, pid under PM2) are on every line.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line + '\n'), base: LogFields = {}): Logger {
  const destination: DestinationStream = { write: (s: string) => write(s.endsWith('\n') ? s.slice(0, -1) : s) };
  return new PinoAdapter(
    pino(
      {
        level,
        base,
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: errorFields, error: errorFields },
        redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      },
      destination,
    ),
  );
}

/**
 * A class, not closures: every session and socket has its own child logger, and five
 * closures per child cost ~1 KB of the ~35 KB of heap a terminal holds (measured).
 */
class PinoAdapter implements Logger {
  constructor(private readonly pino: PinoLogger) {}

  debug(msg: string, fields?: LogFields): void {
    if (fields) this.pino.debug(fields, msg);
    else this.pino.debug(msg);
  }

  info(msg: string, fields?: LogFields): void {
    if (fields) this.pino.info(fields, msg);
    else this.pino.info(msg);
  }

  warn(msg: string, fields?: LogFields): void {
    if (fields) this.pino.warn(fields, msg);
    else this.pino.warn(msg);
  }

  error(msg: string, fields?: LogFields): void {
    if (fields) this.pino.error(fields, msg);
    else this.pino.error(msg);
  }

  child(fields: LogFields): Logger {
    return new PinoAdapter(this.pino.child(fields));
  }
}
