/**
 * Counts what a test sshd saw, from its own log (LogLevel VERBOSE): the authentication
 * attempts that fail2ban and MaxAuthTries count against the gateway's address, and the
 * connections that reached it at all.
 */
import type { TestSshd } from './sshd.js';

export interface SshdAttempts {
  /** `Failed <method> for …` lines: one per rejected password, key or keyboard-interactive try. */
  failed: number;
  /** `PAM: Authentication failure` lines: what pam_unix (and so fail2ban's sshd filter) counted. */
  pamFailures: number;
  /** `Connection from …` lines: TCP connections sshd accepted. */
  connections: number;
}

/** sshd never logs the first `none` probe as a failure, nor counts it against MaxAuthTries. */
const FAILED = /^.*Failed (?!none )\S+ for /gm;
const PAM_FAILURE = /PAM: Authentication failure/g;
const CONNECTION = /Connection from \S+ port \d+/g;

export function sshdAttempts(sshd: TestSshd): SshdAttempts {
  const log = sshd.log();
  return {
    failed: log.match(FAILED)?.length ?? 0,
    pamFailures: log.match(PAM_FAILURE)?.length ?? 0,
    connections: log.match(CONNECTION)?.length ?? 0,
  };
}

/** sshd's last word on a connection: it closed it, or the client did. */
const CLOSED = /(Connection closed by|Disconnected from|Connection reset by|Received disconnect from) /g;

/**
 * Resolves once sshd has logged the end of every connection it accepted, so that no
 * `Failed …` line of those connections can still be on its way. sshd's log has no event
 * of its own; it is read again every 20 ms, for at most `ms`.
 */
export async function sshdSettled(sshd: TestSshd, ms = 10_000): Promise<SshdAttempts> {
  const until = Date.now() + ms;
  for (;;) {
    const seen = sshdAttempts(sshd);
    const closed = sshd.log().match(CLOSED)?.length ?? 0;
    if (closed >= seen.connections) return seen;
    if (Date.now() > until) throw new Error(`sshd still has ${seen.connections - closed} open connection(s) after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
