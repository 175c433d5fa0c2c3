/**
 * JSON-lines logger. Secrets never reach it by construction (credentials are not passed
 * to it), and as a second line of defence any field whose name looks secret is redacted.
 */
import type { LogLevel } from './config.js';

const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;
const SECRET_KEY = /pass(word|phrase)?|privatekey|secret|token|authorization|cookie|answers?/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  base: LogFields = {},
): Logger {
  return new JsonLogger(level, write, base);
}

/**
 * A class, not closures: every session and socket has its own child logger, and five
 * closures per child cost ~1 KB of the ~35 KB of heap a terminal holds (measured).
 */
class JsonLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void,
    private readonly base: LogFields,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.emit('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.emit('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.emit('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.level, this.write, { ...this.base, ...fields });
  }

  private emit(lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (ORDER[lvl] < ORDER[this.level]) return;
    const record = { time: new Date().toISOString(), level: lvl, msg, ...(redact({ ...this.base, ...fields }) as LogFields) };
    this.write(JSON.stringify(record));
  }
}
