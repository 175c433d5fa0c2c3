/**
 * One catalogue of error codes, used by logs, HTTP responses and the client.
 * `retryable` tells the user whether trying again unchanged can help.
 */
export const ERRORS = {
  DNS_FAILED: { retryable: false, message: 'The host name could not be resolved. Check the spelling.' },
  CONNECTION_REFUSED: { retryable: true, message: 'The SSH server refused the connection (is sshd running on that port?).' },
  HOST_UNREACHABLE: { retryable: true, message: 'The SSH server could not be reached over the network.' },
  TIMEOUT: { retryable: true, message: 'The SSH server did not answer in time.' },
  AUTH_FAILED: { retryable: false, message: 'Authentication failed: check the user name, password or key.' },
  KEY_INVALID: { retryable: false, message: 'The private key could not be read (wrong format or passphrase).' },
  HOST_KEY_REJECTED: { retryable: false, message: "The server's host key does not match the one on record. Refusing to connect." },
  ALGORITHM_MISMATCH: { retryable: false, message: 'The SSH server and the gateway share no common algorithm.' },
  PROTOCOL_ERROR: { retryable: true, message: 'The SSH connection failed during the protocol exchange.' },
  CHANNEL_FAILED: { retryable: true, message: 'The SSH server refused to open a terminal.' },
  REMOTE_CLOSED: { retryable: true, message: 'The SSH connection was closed.' },
  USER_CLOSED: { retryable: true, message: 'You closed the session.' },
  TARGET_NOT_ALLOWED: { retryable: false, message: 'This gateway is not allowed to connect to that host or port.' },
  INVALID_REQUEST: { retryable: false, message: 'The request was malformed.' },
  CREDENTIALS_MISSING: { retryable: false, message: 'No credentials: log in again.' },
  AUTH_REQUIRED: { retryable: false, message: 'Credentials are required.' },
  ORIGIN_REJECTED: { retryable: false, message: 'This page is not allowed to open terminals here (origin check).' },
  HOST_REJECTED: { retryable: false, message: 'This gateway does not answer to that host name (ALLOWED_HOSTS).' },
  RATE_LIMITED: { retryable: true, message: 'Too many failed logins from here or for this account; wait before trying again.' },
  SESSION_ACTIVE: { retryable: false, message: 'A session is already running on this connection.' },
  SERVICE_UNAVAILABLE: { retryable: true, message: 'The gateway cannot reach its session store right now; try again shortly.' },
  SESSION_LIMIT: { retryable: true, message: 'Too many terminal sessions are open (from your address or on this gateway); close one or try again later.' },
  START_TIMEOUT: { retryable: true, message: 'No session was started on this connection in time; reconnect to start one.' },
  IDLE_TIMEOUT: { retryable: true, message: 'The session ended after a period with no input and no output.' },
  SESSION_EXPIRED: { retryable: true, message: 'The session reached its maximum lifetime.' },
  SHUTTING_DOWN: { retryable: true, message: 'The gateway is restarting; reconnect to continue.' },
  DETACH_EXPIRED: { retryable: true, message: 'The session ended: no page was attached to it for the whole detach window.' },
  RESUME_REFUSED: { retryable: false, message: 'This session cannot be resumed from here (unknown session, another browser, or a stale resume secret).' },
  SESSION_NOT_FOUND: { retryable: true, message: 'The session no longer exists on the gateway (the process that held it stopped, or it ended long ago); start a new one.' },
  RESUMED_ELSEWHERE: { retryable: true, message: 'The session was resumed in another window; reconnect here to take it back.' },
  READ_ONLY: { retryable: false, message: 'This is a read-only view of another session: input is not sent.' },
  WATCHER_TOO_SLOW: { retryable: true, message: 'Watching stopped: this page did not keep up with the session output.' },
  FILES_DISABLED: { retryable: false, message: 'File transfer is turned off on this gateway.' },
  SFTP_UNAVAILABLE: { retryable: false, message: 'The SSH server offers no SFTP subsystem, so files cannot be transferred.' },
  FILE_NOT_FOUND: { retryable: false, message: 'No such file or directory on the server.' },
  PERMISSION_DENIED: { retryable: false, message: 'Permission denied on the server.' },
  NOT_A_DIRECTORY: { retryable: false, message: 'That path is not a directory.' },
  NOT_A_FILE: { retryable: false, message: 'That path is not a regular file.' },
  FILE_EXISTS: { retryable: false, message: 'A file of that name already exists; confirm to overwrite it.' },
  DISK_FULL: { retryable: false, message: "The server's disk is full." },
  FILE_TOO_LARGE: { retryable: false, message: "The file is larger than this gateway's transfer limit." },
  TRANSFER_LIMIT: { retryable: true, message: 'Too many transfers are running for this terminal; wait for one to finish.' },
  TRANSFER_ABORTED: { retryable: true, message: 'The transfer stopped before it completed (the session ended or the connection dropped); it can be resumed.' },
  UPLOAD_OFFSET_MISMATCH: { retryable: true, message: 'The partial upload on the server has a different size; resume from the offset given.' },
  SFTP_FAILED: { retryable: true, message: 'The SFTP operation failed on the server.' },
  ADMIN_TERMINATED: { retryable: true, message: 'An administrator ended this session.' },
  INTERNAL: { retryable: true, message: 'Unexpected gateway error.' },
} as const satisfies Record<string, { retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** RATE_LIMITED: seconds until a retry can succeed; the page does not retry before. */
  retryAfterSeconds?: number;
}

export function errorInfo(code: ErrorCode, detail?: string, retryAfterSeconds?: number): ErrorInfo {
  const entry = ERRORS[code];
  return {
    code,
    message: detail ? `${entry.message} (${detail})` : entry.message,
    retryable: entry.retryable,
    ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
  };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}
