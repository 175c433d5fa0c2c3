/**
 * The page's side of the file endpoints (`<base>/files`, issue 14). Requests carry the
 * terminal's current secret in a header; downloads go through the browser's own download
 * manager (a link), uploads through XMLHttpRequest, which streams a File from disk and
 * reports progress (fetch does neither for request bodies). An upload that fails on the
 * network resumes from the offset the server has, a few times, before it gives up.
 */
import type { ErrorInfo } from '../src/shared/errors.js';

export interface FileAccess {
  session: string;
  secret: string;
}

export interface RemoteEntry {
  name: string;
  kind: 'file' | 'dir' | 'link' | 'other';
  target?: 'file' | 'dir' | 'link' | 'other';
  size: number;
  mtime: number;
}

export class FileError extends Error {
  constructor(
    readonly info: ErrorInfo & { offset?: number; resumable?: boolean },
    readonly status: number,
  ) {
    super(info.message);
  }
}

export interface Progress {
  sent: number;
  total: number;
}

const RESUME_TRIES = 5;

export class FileApi {
  constructor(
    private readonly root: string,
    private readonly access: () => FileAccess | undefined,
  ) {}

  private url(path: string): string {
    const a = this.need();
    return new URL(`${this.root}files/${a.session}/${path}`, location.href).toString();
  }

  private need(): FileAccess {
    const a = this.access();
    if (!a) throw new FileError({ code: 'SESSION_NOT_FOUND', message: 'No terminal is connected.', retryable: true }, 0);
    return a;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.url(path), {
      method,
      headers: { 'x-webssh-secret': this.need().secret, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const data: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new FileError(data as ErrorInfo, res.status);
    return data as T;
  }

  list(path: string): Promise<{ path: string; entries: RemoteEntry[] }> {
    return this.call('GET', `list?path=${encodeURIComponent(path)}`);
  }

  mkdir(path: string): Promise<unknown> {
    return this.call('POST', 'mkdir', { path });
  }

  rename(from: string, to: string, overwrite = false): Promise<unknown> {
    return this.call('POST', 'rename', { from, to, overwrite });
  }

  remove(path: string): Promise<unknown> {
    return this.call('POST', 'delete', { path });
  }

  /** Hands the file to the browser's download manager (its progress, its resume). */
  async download(path: string): Promise<void> {
    const link = await this.call<{ url: string; name: string }>('POST', 'download', { path });
    const a = document.createElement('a');
    a.href = new URL(`${this.root}${link.url}`, location.href).toString();
    a.download = link.name;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
  }

  cancelUpload(path: string): Promise<unknown> {
    return this.call('DELETE', `upload?path=${encodeURIComponent(path)}`);
  }

  /**
   * Uploads `file` to `path`; resumes from the server's offset after a network failure.
   * `signal` cancels (the partial file is removed).
   */
  async upload(file: File, path: string, opts: { overwrite: boolean; signal: AbortSignal; progress: (p: Progress) => void }): Promise<void> {
    let offset = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.put(file, path, offset, opts);
      } catch (err) {
        if (opts.signal.aborted) {
          await this.cancelUpload(path).catch(() => undefined);
          throw new FileError({ code: 'TRANSFER_ABORTED', message: 'Cancelled.', retryable: true }, 0);
        }
        const resumable = !(err instanceof FileError) || err.info.code === 'TRANSFER_ABORTED' || err.info.code === 'UPLOAD_OFFSET_MISMATCH';
        if (!resumable || attempt + 1 >= RESUME_TRIES) throw err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt)); // backoff before resuming
        offset = (await this.call<{ offset: number }>('GET', `upload?path=${encodeURIComponent(path)}`)).offset;
      }
    }
  }

  private put(file: File, path: string, offset: number, opts: { overwrite: boolean; signal: AbortSignal; progress: (p: Progress) => void }): Promise<void> {
    const q = new URLSearchParams({ path, size: String(file.size), offset: String(offset), ...(opts.overwrite && { overwrite: '1' }) });
    const xhr = new XMLHttpRequest();
    return new Promise((resolve, reject) => {
      const abort = () => xhr.abort();
      opts.signal.addEventListener('abort', abort, { once: true });
      xhr.open('PUT', this.url(`upload?${q}`));
      xhr.setRequestHeader('x-webssh-secret', this.need().secret);
      xhr.upload.onprogress = (e) => opts.progress({ sent: offset + e.loaded, total: file.size });
      xhr.onload = () => {
        opts.signal.removeEventListener('abort', abort);
        if (xhr.status === 201) return resolve();
        let info: ErrorInfo;
        try {
          info = JSON.parse(xhr.responseText) as ErrorInfo;
        } catch {
          info = { code: 'TRANSFER_ABORTED', message: `The gateway answered ${xhr.status}.`, retryable: true };
        }
        reject(new FileError(info, xhr.status));
      };
      xhr.onerror = xhr.onabort = () => {
        opts.signal.removeEventListener('abort', abort);
        reject(new Error('network'));
      };
      xhr.send(file.slice(offset));
    });
  }
}
