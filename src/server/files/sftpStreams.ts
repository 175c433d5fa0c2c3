/**
 * Pipelined SFTP streams. ssh2's own createReadStream/createWriteStream keep one request
 * in flight (a write waits for its reply before the next; a read too), so a transfer
 * runs at one chunk per round trip: 4 MB/s measured here on loopback. These keep up to
 * `depth` requests in flight, as OpenSSH's own `sftp` does (64), and still follow
 * backpressure: the reader issues reads only while its consumer wants more, the writer
 * accepts a chunk only while fewer than `depth` writes are unanswered. Memory: at most
 * `depth` chunks per direction.
 *
 * Few, on purpose: transfer data shares the SSH connection with the terminal, so what is
 * in flight sits in front of the next echo. Measured (`npm run bench`, files): 16 reads
 * of 64 KiB in flight gave echo p50 26–44 ms during a download, 4 gave 8–12 ms, and the
 * download stayed at OpenSSH sftp's rate or above. Deeper did not pay: 16 reads and 32
 * writes once nobody had typed for 5 s moved no more through the bench (its 2 cores are
 * the limit) and made that first keystroke wait 24–28 ms. While someone types, one (the
 * terminal's TypingGate, core/typingGate.ts).
 */
import { Readable, Writable } from 'node:stream';
import type { OpenMode, SFTPWrapper } from 'ssh2';
import type { TypingGate } from '../core/typingGate.js';
import { codedError } from '../ssh/sshSession.js';

/**
 * ssh2 leaves requests unanswered when the channel closes (the session ended): the
 * stream fails then instead of waiting for replies that never come.
 */
function failOnClose(sftp: SFTPWrapper, stream: Readable | Writable): void {
  const onClose = () => stream.destroy(codedError('TRANSFER_ABORTED', 'the session ended during the transfer'));
  sftp.once('close', onClose);
  stream.once('close', () => sftp.off('close', onClose));
}

const READ_DEPTH = 4;
const WRITE_DEPTH = 8;
const READ_CHUNK = 64 * 1024;

export function openHandle(sftp: SFTPWrapper, path: string, flags: OpenMode, mode = 0o644): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.open(path, flags, mode, (err, handle) => (err ? reject(err) : resolve(handle))));
}

/** Not waited for: every write was answered already, and a closed channel never answers. */
function closeHandle(sftp: SFTPWrapper, handle: Buffer): void {
  try {
    sftp.close(handle, () => undefined);
  } catch {
    // the channel is gone, and the handle with it
  }
}

/** Bytes `start`..`end` (inclusive) of an open file, in order. Closes the handle at the end. */
export function sftpReader(sftp: SFTPWrapper, handle: Buffer, start: number, end: number, typing?: TypingGate, depth = READ_DEPTH): Readable {
  let next = start; // offset of the next read to issue
  let inFlight = 0;
  let done = false;
  let held = false;
  /** Finished reads not yet pushed, by offset: pushed strictly in order. */
  const ready = new Map<number, Buffer>();
  let pushAt = start;
  const stream = new Readable({
    highWaterMark: depth * READ_CHUNK,
    read() {
      pump();
    },
    destroy(err, cb) {
      done = true;
      closeHandle(sftp, handle);
      cb(err);
    },
  });
  failOnClose(sftp, stream);
  const pump = (): void => {
    while (!done && inFlight < (typing?.depth(depth) ?? depth) && next <= end) {
      if (typing?.held) {
        if (!held) {
          held = true;
          typing.whenOpen(() => {
            held = false;
            pump();
          });
        }
        return;
      }
      const at = next;
      const len = Math.min(READ_CHUNK, end - at + 1);
      next += len;
      inFlight++;
      sftp.read(handle, Buffer.allocUnsafe(len), 0, len, at, (err, bytes, buf) => {
        inFlight--;
        if (done) return;
        if (err) return void stream.destroy(err);
        // A regular file gives full reads up to its end (our chunk is below any server's
        // limit): a short one means it shrank under us, and the bytes promised are not there.
        if (bytes < len) return void stream.destroy(new Error('the file changed during the download'));
        ready.set(at, buf.subarray(0, bytes));
        let wants = true;
        for (let b = ready.get(pushAt); b; b = ready.get(pushAt)) {
          ready.delete(pushAt);
          pushAt += b.length;
          wants = stream.push(b);
        }
        if (pushAt > end) {
          done = true;
          closeHandle(sftp, handle);
          stream.push(null);
        } else if (wants) pump();
      });
    }
  };
  return stream;
}

/** Writes at `start` onwards into an open file; closes it when finished (or on error). */
export function sftpWriter(sftp: SFTPWrapper, handle: Buffer, start: number, typing?: TypingGate, depth = WRITE_DEPTH): Writable {
  let pos = start;
  let inFlight = 0;
  let failed: Error | undefined;
  /** The callback of the write that waits for a free slot, and of `final`. */
  let waiting: ((err?: Error | null) => void) | undefined;
  let finishing: ((err?: Error | null) => void) | undefined;
  const settle = (): void => {
    if (waiting && (failed || inFlight < (typing?.depth(depth) ?? depth))) {
      const cb = waiting;
      waiting = undefined;
      cb(failed);
    }
    if (finishing && (failed || inFlight === 0)) {
      const cb = finishing;
      finishing = undefined;
      closeHandle(sftp, handle);
      cb(failed);
    }
  };
  const stream = new Writable({
    highWaterMark: depth * 32 * 1024,
    write(chunk: Buffer, _enc, cb) {
      if (failed) return cb(failed);
      const send = () => {
        const at = pos;
        pos += chunk.length;
        inFlight++;
        sftp.write(handle, chunk, 0, chunk.length, at, (err) => {
          inFlight--;
          if (err && !failed) failed = err;
          settle();
        });
        waiting = cb;
        settle();
      };
      // Writable calls write() once at a time, so at most one send waits here.
      if (typing) typing.whenOpen(send);
      else send();
    },
    final(cb) {
      finishing = cb;
      settle();
    },
    destroy(err, cb) {
      // Writes already sent still land; the handle closes after them (the server answers in order).
      closeHandle(sftp, handle);
      cb(err);
    },
  });
  failOnClose(sftp, stream);
  return stream;
}
