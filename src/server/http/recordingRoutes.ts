/**
 * `GET <base>/admin/recordings` (the list) and `GET <base>/admin/recordings/:name` (one
 * file, for the console's player or curl), behind the admin token like the rest of the
 * router. A name is served only if it has exactly the shape recordings are written
 * with (recordings/asciicast.ts): no separator, no "..", nothing outside the directory.
 */
import { createReadStream } from 'node:fs';
import type { Request, Router } from 'express';
import type { NodeIdentity, RecordingListing } from '../../shared/admin.js';
import type { Logger } from '../log.js';
import type { GatewayEvents } from '../observe/gatewayEvents.js';
import type { Recordings } from '../recordings.js';
import { parseCastName } from '../recordings/asciicast.js';
import { sendError } from './routes.js';

interface RecordingRouteDeps {
  recordings: Recordings | undefined;
  node: NodeIdentity;
  log: Logger;
  events?: GatewayEvents;
  client: (req: Request) => string;
}

export function addRecordingRoutes(router: Router, deps: RecordingRouteDeps): void {
  const { recordings, node, log } = deps;
  router.get('/recordings', async (req, res) => {
    deps.events?.publish('admin.action', { action: 'recordings', client: deps.client(req) });
    const listing: RecordingListing = { enabled: recordings !== undefined, recordings: (await recordings?.list()) ?? [], node };
    res.json(listing);
  });

  router.get('/recordings/:name', async (req, res) => {
    const name = req.params.name;
    if (typeof name !== 'string' || !parseCastName(name)) return sendError(res, 400, 'INVALID_REQUEST', 'not a recording name');
    const file = await recordings?.file(name);
    deps.events?.publish('admin.action', { action: 'replay', client: deps.client(req), recording: name, found: file !== undefined });
    if (!file) return sendError(res, 404, 'INVALID_REQUEST', 'no such recording');
    // Up to the last whole line: a file still being written may end mid-line.
    res.setHeader('Content-Type', 'application/x-asciicast; charset=utf-8');
    res.setHeader('Content-Length', String(file.end));
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    if (file.end === 0) return res.end();
    const body = createReadStream(file.path, { start: 0, end: file.end - 1 });
    body.on('error', (err) => {
      log.warn('recording read failed', { err, file: name });
      res.destroy(err);
    });
    body.pipe(res);
  });
}
