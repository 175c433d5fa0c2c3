/**
 * Entry point: the only module that touches `process` (environment, signals, exit).
 */
import { readFileSync } from 'node:fs';
import { createGateway } from './app.js';
import { ConfigError, parseConfig } from './config.js';
import { createLogger } from './log.js';
import { openAuditFile, type AuditFile } from './observe/auditFile.js';

function loadConfig() {
  const file = process.env.CONFIG_FILE ? (JSON.parse(readFileSync(process.env.CONFIG_FILE, 'utf8')) as Record<string, unknown>) : {};
  return parseConfig(process.env, file);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `cannot read configuration: ${(err as Error).message}`}\n`);
    process.exit(2);
  }
  // Under PM2 every line says which instance (and which process of it, across reloads) wrote it.
  // A closed stdout (the reader of a pipe went away) must not turn every log line into an
  // EPIPE that the last-resort handler below logs again, in a loop that ignored SIGTERM.
  let stdoutOpen = true;
  process.stdout.on('error', () => (stdoutOpen = false));
  const write = (line: string) => {
    if (stdoutOpen) process.stdout.write(line + '\n');
  };
  const base = config.instance === undefined ? {} : { instance: config.instance, pid: process.pid };
  const log = createLogger(config.logLevel, write, base);
  // The audit trail does not depend on LOG_LEVEL (only `silent` silences stdout's copy).
  let auditFile: AuditFile | undefined;
  try {
    auditFile = config.auditLogFile === undefined ? undefined : openAuditFile(config.auditLogFile, (err) => log.error('audit log file write failed', { err }));
  } catch (err) {
    process.stderr.write(`AUDIT_LOG_FILE: cannot open ${config.auditLogFile}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const audit = auditFile ? createLogger('info', (line) => auditFile?.write(line), base) : createLogger(config.logLevel === 'silent' ? 'silent' : 'info', write, base);
  const gateway = createGateway(config, { log, audit });
  let port: number;
  try {
    port = await gateway.listen();
  } catch (err) {
    log.error('cannot start', { err });
    process.exit(1);
  }
  log.info('gateway listening', { url: `http://${config.listenHost === '0.0.0.0' ? 'localhost' : config.listenHost}:${port}${config.basePath}` });
  // PM2 `wait_ready`: only once the port is bound and Redis connected may the old worker go.
  gateway.ready().then(
    () => {
      log.info('ready');
      process.send?.('ready');
    },
    () => undefined, // closed before Redis ever answered; already logged
  );

  // PM2 reload sends SIGINT, `pm2 stop` the `shutdown` message, docker/systemd SIGTERM.
  // The first asks for a drain; a second one stops at once.
  let stopping = false;
  const stop = (reason: string) => {
    const finish = (p: Promise<void>) =>
      p.then(
        () => {
          auditFile?.flush();
          process.exit(0);
        },
        (err: unknown) => {
          log.error('shutdown failed', { err });
          auditFile?.flush();
          process.exit(1);
        },
      );
    if (stopping) {
      log.warn('second stop request: closing now', { reason });
      return void finish(gateway.close());
    }
    stopping = true;
    log.info('shutting down', { reason, drainTimeoutMs: config.drainTimeoutMs });
    void finish(gateway.drain(config.drainTimeoutMs));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('message', (msg) => {
    if (msg === 'shutdown') stop('shutdown message');
  });
  process.on('uncaughtException', (err) => log.error('uncaught exception', { err }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));
}

void main();
