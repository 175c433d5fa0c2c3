/**
 * transport (issue 14's choice): the same bytes from a server process to this one as an
 * HTTP streaming response, and as Socket.IO binary events with acknowledgements (8 of
 * 64 KiB unacknowledged, the window a transfer over the page's socket would need) over
 * WebSocket and over long-polling. No SSH and no proxy: only what the transport costs.
 * MB/s and the server's CPU per MB.
 */
import { spawn } from 'node:child_process';
import { io } from 'socket.io-client';
import { cpuSeconds, nowMs, round } from '../stats.js';

const SERVER = `
const http = require('node:http');
const { Server } = require('socket.io');
const total = Number(process.argv[1]);
const chunk = Buffer.alloc(65536, 7);
const srv = http.createServer((req, res) => {
  if (req.url !== '/http') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-length': total });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
const ioServer = new Server(srv, { maxHttpBufferSize: 1e6 });
ioServer.on('connection', (s) => s.on('go', () => {
  let sent = 0, unacked = 0;
  const pump = () => {
    while (sent < total && unacked < 8) {
      sent += chunk.length;
      unacked++;
      s.emit('chunk', chunk, () => { unacked--; pump(); });
    }
    if (sent >= total && unacked === 0) s.emit('done');
  };
  pump();
}));
srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));
`;

export async function fileTransport(megabytes: number) {
  const total = megabytes * 1024 * 1024;
  const server = spawn(process.execPath, ['-e', SERVER, String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      server.once('exit', (code) => reject(new Error(`transport server exited (${code})`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const measure = async (receive: () => Promise<number>) => {
      const [cpu0, t0] = [cpuSeconds(server.pid!), nowMs()];
      const bytes = await receive();
      if (bytes !== total) throw new Error(`transport: ${bytes} of ${total} bytes`);
      const seconds = (nowMs() - t0) / 1000;
      return { mb_per_s: round(total / 1e6 / seconds, 1), server_cpu_ms_per_mb: round(((cpuSeconds(server.pid!) - cpu0) * 1000) / (total / 1e6), 2) };
    };
    const http = await measure(async () => {
      let n = 0;
      for await (const chunk of (await fetch(`${url}/http`)).body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
      return n;
    });
    const frames = (transport: 'websocket' | 'polling') =>
      measure(
        () =>
          new Promise<number>((resolve, reject) => {
            const socket = io(url, { transports: [transport], forceNew: true, reconnection: false });
            let n = 0;
            socket.on('chunk', (data: ArrayBuffer | Uint8Array, ack: () => void) => {
              n += data.byteLength;
              ack();
            });
            socket.on('done', () => (socket.close(), resolve(n)));
            socket.on('connect_error', reject);
            socket.on('connect', () => socket.emit('go'));
          }),
      );
    return { http, websocket: await frames('websocket'), polling: await frames('polling') };
  } finally {
    server.kill('SIGKILL');
  }
}
