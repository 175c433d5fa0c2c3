/**
 * SFTP failures as our error codes, and the HTTP status each file answer carries. Pure.
 * OpenSSH's sftp-server speaks protocol 3, whose status codes are coarse: ENOENT and
 * ENOTDIR are both NO_SUCH_FILE, and a full disk is a bare FAILURE, so callers refine
 * those (a stat, a statvfs) where the difference matters to the user.
 */
import type { ErrorCode } from '../../shared/errors.js';

/** SSH_FX_* status codes (draft-ietf-secsh-filexfer-02). */
const SFTP_STATUS: Record<number, ErrorCode> = {
  2: 'FILE_NOT_FOUND',
  3: 'PERMISSION_DENIED',
  4: 'SFTP_FAILED',
  6: 'TRANSFER_ABORTED',
  7: 'TRANSFER_ABORTED',
};

export function fileErrorCode(err: unknown): ErrorCode {
  const e = err as { gatewayCode?: unknown; code?: unknown } | undefined;
  if (typeof e?.gatewayCode === 'string') return e.gatewayCode as ErrorCode;
  if (typeof e?.code === 'number') return SFTP_STATUS[e.code] ?? 'SFTP_FAILED';
  // The channel or connection went away under a stream ("No response from server", ECONNRESET).
  return 'TRANSFER_ABORTED';
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  FILES_DISABLED: 404,
  SESSION_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  AUTH_REQUIRED: 403,
  PERMISSION_DENIED: 403,
  ORIGIN_REJECTED: 403,
  NOT_A_DIRECTORY: 409,
  NOT_A_FILE: 409,
  FILE_EXISTS: 409,
  UPLOAD_OFFSET_MISMATCH: 409,
  FILE_TOO_LARGE: 413,
  INVALID_REQUEST: 400,
  TRANSFER_LIMIT: 429,
  SFTP_UNAVAILABLE: 501,
  TRANSFER_ABORTED: 502,
  SFTP_FAILED: 502,
  DISK_FULL: 507,
};

export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}
