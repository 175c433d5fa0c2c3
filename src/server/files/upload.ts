/**
 * One upload request: the body streams into `<path>.webssh-part` at `offset` through the
 * SFTP channel, with backpressure (the request is read only as fast as the server takes
 * writes), and the partial file becomes `path` once all `size` bytes are there. A cut
 * connection, a session that ends, a full disk: the partial file stays, and its size is
 * where the page resumes (GET …/upload). Only a request that breaks its own promise
 * (more bytes than `size`) loses its partial file.
 */
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import type { ErrorCode } from '../../shared/errors.js';
import { codedError } from '../ssh/sshSession.js';
import { dirOf, freeBytes, rename, statIfAny, unlink } from './remoteFiles.js';
import type { TypingGate } from '../core/typingGate.js';
import { openHandle, sftpWriter } from './sftpStreams.js';
import { fileErrorCode } from './sftpErrors.js';

export const PART_SUFFIX = '.webssh-part';

export type UploadResult =
  | { ok: true; received: number }
  | { ok: false; code: ErrorCode; detail?: string; offset: number; resumable: boolean; received: number };

export interface UploadRequest {
  sftp: SFTPWrapper;
  req: IncomingMessage;
  path: string;
  size: number;
  offset: number;
  overwrite: boolean;
  /** The terminal's typing gate: writes wait while a keystroke awaits its echo. */
  typing?: TypingGate;
}

export async function receiveUpload({ sftp, req, path, size, offset, overwrite, typing }: UploadRequest): Promise<UploadResult> {
  const part = path + PART_SUFFIX;
  if (offset === 0) {
    if (!overwrite && (await statIfAny(sftp, path))) return { ok: false, code: 'FILE_EXISTS', detail: path, offset: 0, resumable: false, received: 0 };
  } else {
    const have = (await statIfAny(sftp, part))?.size ?? 0;
    if (have !== offset) return { ok: false, code: 'UPLOAD_OFFSET_MISMATCH', detail: `the server has ${have} bytes`, offset: have, resumable: true, received: 0 };
  }
  const limit = size - offset;
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > limit) cb(codedError('INVALID_REQUEST', `the body is longer than size (${size})`));
      else cb(null, chunk);
    },
  });
  try {
    const handle = await openHandle(sftp, part, offset > 0 ? 'r+' : 'w');
    await pipeline(req, counter, sftpWriter(sftp, handle, offset, typing));
  } catch (err) {
    let code = fileErrorCode(err);
    if (code === 'INVALID_REQUEST') {
      await unlink(sftp, part).catch(() => undefined);
      return { ok: false, code, detail: (err as Error).message, offset: 0, resumable: false, received };
    }
    // What reached the server is the resume point (writes still in flight may not have).
    const at = (await statIfAny(sftp, part).catch(() => undefined))?.size ?? offset;
    if (code === 'SFTP_FAILED' && (await diskFull(sftp, path, size - at))) code = 'DISK_FULL';
    return { ok: false, code, detail: (err as Error).message, offset: at, resumable: true, received };
  }
  if (received < limit) {
    return { ok: false, code: 'TRANSFER_ABORTED', detail: `${offset + received} of ${size} bytes arrived`, offset: offset + received, resumable: true, received };
  }
  // Checked again: another upload or the shell may have created it meanwhile.
  if (!overwrite && (await statIfAny(sftp, path))) return { ok: false, code: 'FILE_EXISTS', detail: path, offset: size, resumable: true, received };
  await rename(sftp, part, path, true);
  return { ok: true, received };
}

/** Whether a failed write means "no room": the server reports free space below what was left to write. */
export async function diskFull(sftp: SFTPWrapper, path: string, stillToWrite: number): Promise<boolean> {
  const free = await freeBytes(sftp, dirOf(path));
  return free !== undefined && free < Math.max(1, stillToWrite);
}
