/**
 * File transfer over HTTP under `<base>/files` (issue 14): list, mkdir, rename, delete,
 * download (a link the browser's download manager fetches, with `Range` to resume) and
 * upload (a streamed PUT at an offset, so an interrupted upload resumes). Every byte
 * streams through with backpressure both ways (HTTP ↔ the SFTP channel's window): memory
 * per transfer is a few stream buffers, never the file, and nothing touches the
 * gateway's disk. See docs/architecture.md, "Files".
 *
 * Who may: the page attached to a live terminal of this process, proved by its browser
 * cookie and the terminal's current secret (header `X-WebSSH-Secret`, which no other
 * site can send without a CORS grant we never give); write requests also pass the
 * Origin check. Paths are the SSH account's own; the gateway adds no access.
 */
import { basename } from 'node:path/posix';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response, type Router } from 'express';
import type { SFTPWrapper } from 'ssh2';
import { z } from 'zod';
import { errorInfo, type ErrorCode } from '../../shared/errors.js';
import { parseRange } from '../core/byteRange.js';
import { originAllowed } from '../core/originPolicy.js';
import { browserCookie, digest } from '../http/browserCookie.js';
import type { Logger } from '../log.js';
import type { FileTransferEvent, GatewayEvents } from '../observe/gatewayEvents.js';
import type { LiveTerminal } from '../socket/liveTerminal.js';
import type { SessionRegistry } from '../socket/sessionRegistry.js';
import { codedError } from '../ssh/sshSession.js';
import type { FileTarget } from '../relay/fileRelay.js';
import { DownloadTickets } from './downloadTickets.js';
import type { FileSettings } from './fileSettings.js';
import { fileErrorCode, httpStatusFor } from './sftpErrors.js';
import { kindOf, list, mkdir, rename, rmdir, stat, statIfAny, unlink } from './remoteFiles.js';
import { diskFull, receiveUpload, PART_SUFFIX } from './upload.js';
import { openHandle, sftpReader } from './sftpStreams.js';

export interface FileRouteDeps {
  settings: FileSettings;
  registry: SessionRegistry;
  allowedOrigins: readonly string[];
  log: Logger;
  /** Where each operation's audit event goes (observe/auditTrail.ts). */
  events?: GatewayEvents;
}

const pathSchema = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'no NUL bytes');
const sessionSchema = z.uuid();

export interface FileRoutes {
  router: Router;
  /** Whether this process holds a session's terminal or a download ticket (relay/fileRelay.ts). */
  holds(target: FileTarget): boolean;
}

export function createFileRoutes(deps: FileRouteDeps): FileRoutes {
  const { settings, registry, log } = deps;
  const router = express.Router();
  const tickets = new DownloadTickets();
  const running = new Map<string, number>();

  const fail = (res: Response, code: ErrorCode, detail?: string, extra: Record<string, unknown> = {}) => {
    if (res.headersSent) return void res.destroy();
    // An upload refused before its body was read: the connection cannot carry another request.
    if (!res.req.complete) res.setHeader('Connection', 'close');
    res.status(httpStatusFor(code)).json({ ...errorInfo(code, detail), ...extra });
  };

  /** The terminal this request may use, or undefined once the answer went out. */
  const terminalFor = (req: Request, res: Response, write: boolean): LiveTerminal | undefined => {
    res.setHeader('Cache-Control', 'no-store');
    if (!settings.enabled) return void fail(res, 'FILES_DISABLED');
    const id = sessionSchema.safeParse(req.params.session);
    if (!id.success) return void fail(res, 'INVALID_REQUEST', 'session id must be a UUID');
    if (write && !originAllowed(req.headers.origin, req.headers.host, deps.allowedOrigins)) return void fail(res, 'ORIGIN_REJECTED');
    const live = registry.terminal(id.data);
    if (!live) return void fail(res, 'SESSION_NOT_FOUND', 'this gateway process does not hold it; reload the page');
    if (!live.mayUseFiles(browserCookie(req), req.get('x-webssh-secret'))) {
      log.warn('file request refused', { code: 'AUTH_REQUIRED', session: id.data, ip: req.ip });
      return void fail(res, 'AUTH_REQUIRED', "this page's terminal secret is required");
    }
    return live;
  };

  /** One audit event per operation: who (client address, SSH account), which session, what; never contents. */
  const audit = (req: Request, live: LiveTerminal, fields: Omit<FileTransferEvent, 'session' | 'client' | 'target'>) => {
    deps.events?.publish('file.transfer', { ...fields, session: live.session.id, target: live.session.target, client: clients.get(req) });
  };
  // Taken when the request arrives: once its connection is gone, `req.ip` throws.
  const clients = new WeakMap<Request, string | undefined>();
  router.use((req, _res, next) => {
    clients.set(req, req.ip);
    next();
  });

  /** Runs a file operation; its failure becomes our code. */
  const run = async (res: Response, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      fail(res, fileErrorCode(err), (err as Error).message);
    }
  };

  /** Counts a transfer against SFTP_MAX_TRANSFERS; returns its release, or undefined when refused. */
  const admitTransfer = (res: Response, session: string): (() => void) | undefined => {
    const n = running.get(session) ?? 0;
    if (n >= settings.maxTransfers) return void fail(res, 'TRANSFER_LIMIT', `at most ${settings.maxTransfers} at once`);
    running.set(session, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (running.get(session) ?? 1) - 1;
      if (left > 0) running.set(session, left);
      else running.delete(session);
    };
  };

  const json = express.json({ limit: '16kb' });
  const body = <T>(req: Request, res: Response, schema: z.ZodType<T>): T | undefined => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) return void fail(res, 'INVALID_REQUEST', parsed.error.issues[0]?.message);
    return parsed.data;
  };

  router.get('/:session/list', async (req, res) => {
    const live = terminalFor(req, res, false);
    const path = pathSchema.safeParse(req.query.path ?? '.');
    if (!live) return;
    if (!path.success) return fail(res, 'INVALID_REQUEST', 'path');
    await run(res, async () => void res.json(await list(await live.session.sftp(), path.data)));
  });

  router.post('/:session/mkdir', json, async (req, res) => {
    const live = terminalFor(req, res, true);
    const b = live && body(req, res, z.object({ path: pathSchema }).strict());
    if (!live || !b) return;
    await run(res, async () => {
      await mkdir(await live.session.sftp(), b.path);
      audit(req, live, { action: 'mkdir', path: b.path });
      res.status(201).json({ path: b.path });
    });
  });

  router.post('/:session/rename', json, async (req, res) => {
    const live = terminalFor(req, res, true);
    const b = live && body(req, res, z.object({ from: pathSchema, to: pathSchema, overwrite: z.boolean().default(false) }).strict());
    if (!live || !b) return;
    await run(res, async () => {
      await rename(await live.session.sftp(), b.from, b.to, b.overwrite);
      audit(req, live, { action: 'rename', path: b.from, to: b.to });
      res.status(204).end();
    });
  });

  router.post('/:session/delete', json, async (req, res) => {
    const live = terminalFor(req, res, true);
    const b = live && body(req, res, z.object({ path: pathSchema }).strict());
    if (!live || !b) return;
    await run(res, async () => {
      const sftp = await live.session.sftp();
      const attrs = await stat(sftp, b.path).catch(() => undefined);
      // A link is removed, never what it points at.
      if (attrs && kindOf(attrs.mode) === 'dir' && !(await isLink(sftp, b.path))) await rmdir(sftp, b.path);
      else await unlink(sftp, b.path);
      audit(req, live, { action: 'delete', path: b.path });
      res.status(204).end();
    });
  });

  router.post('/:session/download', json, async (req, res) => {
    const live = terminalFor(req, res, true);
    const b = live && body(req, res, z.object({ path: pathSchema }).strict());
    if (!live || !b) return;
    await run(res, async () => {
      const attrs = await stat(await live.session.sftp(), b.path);
      if (kindOf(attrs.mode) !== 'file') throw codedError('NOT_A_FILE', b.path);
      if (attrs.size > settings.maxFileBytes) throw codedError('FILE_TOO_LARGE', `${attrs.size} bytes; the limit is ${settings.maxFileBytes}`);
      const ticket = tickets.issue(live.session.id, b.path, live.ownerDigest!);
      const name = basename(b.path) || 'download';
      res.json({ url: `files/get/${ticket}/${encodeURIComponent(name)}`, name, size: attrs.size });
    });
  });

  // The download itself: a plain GET from the browser's download manager.
  router.get('/get/:ticket/:name', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!settings.enabled) return fail(res, 'FILES_DISABLED');
    const cookie = browserCookie(req);
    const ticket = tickets.use(req.params.ticket, cookie === undefined ? undefined : digest(cookie));
    const live = ticket && registry.terminal(ticket.session);
    if (!ticket || !live) return fail(res, 'FILE_NOT_FOUND', 'this download link is not valid (expired, another browser, or its session ended)');
    const release = admitTransfer(res, ticket.session);
    if (!release) return;
    const started = Date.now();
    let sent = 0;
    try {
      const sftp = await live.session.sftp();
      const attrs = await stat(sftp, ticket.path);
      if (kindOf(attrs.mode) !== 'file') throw codedError('NOT_A_FILE', ticket.path);
      if (attrs.size > settings.maxFileBytes) throw codedError('FILE_TOO_LARGE', ticket.path);
      const etag = `"${attrs.size.toString(16)}-${attrs.mtime.toString(16)}"`;
      const ifRange = req.get('if-range');
      const range = ifRange === undefined || ifRange === etag ? parseRange(req.get('range'), attrs.size) : { kind: 'full' as const };
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('ETag', etag);
      res.setHeader('Last-Modified', new Date(attrs.mtime * 1000).toUTCString());
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(basename(ticket.path))}`);
      if (range.kind === 'unsatisfiable') {
        res.setHeader('Content-Range', `bytes */${attrs.size}`);
        return fail(res, 'INVALID_REQUEST', 'range not satisfiable', {});
      }
      const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, attrs.size - 1];
      if (range.kind === 'partial') {
        res.status(206);
        res.setHeader('Content-Range', `bytes ${start}-${end}/${attrs.size}`);
      }
      res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
      if (attrs.size === 0) return void res.end();
      const source = sftpReader(sftp, await openHandle(sftp, ticket.path, 'r'), start, end, live.session.typing);
      source.on('data', (chunk: Buffer) => (sent += chunk.length));
      await pipeline(source, res);
      audit(req, live, { action: 'download', path: ticket.path, from: start, bytes: sent, ms: Date.now() - started, result: 'ok' });
    } catch (err) {
      const code = fileErrorCode(err);
      audit(req, live, { action: 'download', path: ticket.path, bytes: sent, result: code });
      fail(res, code, (err as Error).message);
    } finally {
      release();
    }
  });

  const uploadQuery = z.object({
    path: pathSchema,
    size: z.coerce.number().int().min(0),
    offset: z.coerce.number().int().min(0).default(0),
    overwrite: z.enum(['0', '1']).default('0'),
  });

  // Where a partial upload stands: the offset to resume from.
  router.get('/:session/upload', async (req, res) => {
    const live = terminalFor(req, res, false);
    const path = pathSchema.safeParse(req.query.path);
    if (!live) return;
    if (!path.success) return fail(res, 'INVALID_REQUEST', 'path');
    await run(res, async () => {
      const part = await statIfAny(await live.session.sftp(), path.data + PART_SUFFIX);
      res.json({ offset: part?.size ?? 0 });
    });
  });

  // Cancel: the partial file goes.
  router.delete('/:session/upload', async (req, res) => {
    const live = terminalFor(req, res, true);
    const path = pathSchema.safeParse(req.query.path);
    if (!live) return;
    if (!path.success) return fail(res, 'INVALID_REQUEST', 'path');
    await run(res, async () => {
      await unlink(await live.session.sftp(), path.data + PART_SUFFIX).catch((err: unknown) => {
        if (fileErrorCode(err) !== 'FILE_NOT_FOUND') throw err;
      });
      audit(req, live, { action: 'upload-cancel', path: path.data });
      res.status(204).end();
    });
  });

  router.put('/:session/upload', async (req, res) => {
    const live = terminalFor(req, res, true);
    const q = uploadQuery.safeParse(req.query);
    if (!live) return;
    if (!q.success) return fail(res, 'INVALID_REQUEST', `upload: ${q.error.issues[0]?.path.join('.')} ${q.error.issues[0]?.message}`);
    const { path, size, offset } = q.data;
    if (size > settings.maxFileBytes) return fail(res, 'FILE_TOO_LARGE', `${size} bytes; the limit is ${settings.maxFileBytes}`);
    if (offset > size) return fail(res, 'INVALID_REQUEST', 'offset beyond size');
    const release = admitTransfer(res, live.session.id);
    if (!release) return;
    try {
      const sftp = await live.session.sftp();
      const result = await receiveUpload({ sftp, req, path, size, offset, overwrite: q.data.overwrite === '1', typing: live.session.typing });
      const done = { action: 'upload' as const, path, from: offset, bytes: result.received };
      if (result.ok) {
        audit(req, live, { ...done, result: 'ok' });
        res.status(201).json({ path, size });
      } else {
        audit(req, live, { ...done, result: result.code });
        fail(res, result.code, result.detail, { offset: result.offset, resumable: result.resumable });
      }
    } catch (err) {
      let code = fileErrorCode(err);
      if (code === 'SFTP_FAILED') {
        const sftp = await live.session.sftp().catch(() => undefined);
        if (sftp && (await diskFull(sftp, path, size - offset))) code = 'DISK_FULL';
      }
      audit(req, live, { action: 'upload', path, from: offset, result: code });
      fail(res, code, (err as Error).message);
    } finally {
      release();
    }
  });

  return {
    router,
    holds: ({ session, ticket }) => (session !== undefined && registry.terminal(session) !== undefined) || (ticket !== undefined && tickets.has(ticket)),
  };
}

async function isLink(sftp: SFTPWrapper, path: string): Promise<boolean> {
  return new Promise((resolve) => sftp.lstat(path, (err, attrs) => resolve(!err && kindOf(attrs.mode) === 'link')));
}
