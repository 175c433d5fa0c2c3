/**
 * Issue 14 against real OpenSSH's SFTP subsystem (internal-sftp): list, mkdir, rename,
 * delete; uploads and downloads with checksums on both ends, a download resumed with
 * `Range`, an upload resumed after its connection was cut, cancel, the size limit, every
 * error a user can meet, and who may do any of it. Memory stays flat while 100 MB pass.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { eventually } from '../harness/shellProbes.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let noSftp: TestSshd;
let gw: TestGateway;
let clients: TerminalClient[] = [];
/** A directory of the test user's own, removed at the end. */
let dir: string;
const LIMIT = 150_000_000;

beforeAll(async () => {
  sshd = await startSshd();
  noSftp = await startSshd({ extraConfig: ['Subsystem sftp /nonexistent/sftp-server'] });
  gw = await startGateway({ SFTP_MAX_FILE_BYTES: String(LIMIT), SFTP_MAX_TRANSFERS: '3' });
  dir = `/tmp/webssh-files-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir);
  const uid = Number(execFileSync('id', ['-u', sshd.users.password.username]).toString());
  chownSync(dir, uid, uid);
}, 60_000);

afterEach(() => {
  clients.forEach((c) => c.close());
  clients = [];
});

afterAll(async () => {
  await gw?.close();
  await sshd?.close();
  await noSftp?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Page {
  client: TerminalClient;
  cookie: string;
  session: string;
  secret: string;
}

async function page(target: TestSshd = sshd): Promise<Page> {
  const cookie = `webssh_browser=${randomBytes(32).toString('base64url')}`;
  const client = new TerminalClient(gw.url, { cookie });
  clients.push(client);
  client.start({ host: target.host, port: target.port, ...target.users.password });
  const att = await client.waitForAttached();
  return { client, cookie, session: att.session, secret: att.secret };
}

function api(p: Page, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { cookie: p.cookie, 'x-webssh-secret': p.secret, origin: gw.url };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${gw.url}/ssh/files/${p.session}/${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) }, ...(init.json !== undefined && { body: JSON.stringify(init.json) }) });
}

/** `size` pseudo-random bytes (an AES-CTR keystream of `seed`), made chunk by chunk: never the whole file in memory. */
function* chunksOf(size: number, seed: string): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  for (let made = 0; made < size; ) {
    const n = Math.min(zeros.length, size - made);
    made += n;
    yield cipher.update(zeros.subarray(0, n));
  }
}

function sha256Of(size: number, seed: string, from = 0): string {
  const h = createHash('sha256');
  let at = 0;
  for (const c of chunksOf(size, seed)) {
    if (at + c.length > from) h.update(c.subarray(Math.max(0, from - at)));
    at += c.length;
  }
  return h.digest('hex');
}

const fileSha = (path: string) => execFileSync('sha256sum', [path]).toString().split(' ')[0];

/**
 * PUT an upload of `size` bytes from `from`; `cutAt` destroys the connection once that many
 * bytes of the body went out (a dropped network).
 */
function upload(p: Page, path: string, size: number, seed: string, opts: { from?: number; overwrite?: boolean; cutAt?: number; cutWhen?: Promise<void> } = {}): Promise<{ status: number; body: Record<string, unknown> } | 'cut'> {
  const from = opts.from ?? 0;
  const q = new URLSearchParams({ path, size: String(size), offset: String(from), ...(opts.overwrite && { overwrite: '1' }) });
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}/ssh/files/${p.session}/upload?${q}`, { method: 'PUT', headers: { cookie: p.cookie, 'x-webssh-secret': p.secret, origin: gw.url, 'content-length': String(size - from) } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', (err) => (opts.cutAt !== undefined ? resolve('cut') : reject(err)));
    void (async () => {
      let at = 0;
      for (const chunk of chunksOf(size, seed)) {
        const part = chunk.subarray(Math.max(0, from - at));
        at += chunk.length;
        if (part.length === 0) continue;
        if (opts.cutAt !== undefined && at - from >= opts.cutAt) {
          req.write(part.subarray(0, part.length - (at - from - opts.cutAt)));
          await (opts.cutWhen ?? new Promise((r) => setTimeout(r, 200))); // let the bytes reach the gateway before the cut
          return void req.destroy();
        }
        if (!req.write(part)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })();
  });
}

/** Downloads through a link from the page's API, hashing as it streams; `range` asks for part. */
async function download(p: Page, path: string, range?: string, cookie = p.cookie): Promise<{ status: number; sha: string; bytes: number; headers: Headers }> {
  const linkRes = await api(p, 'download', { method: 'POST', json: { path } });
  expect(linkRes.status).toBe(200);
  const link = (await linkRes.json()) as { url: string };
  const res = await fetch(`${gw.url}/ssh/${link.url}`, { headers: { cookie, ...(range && { range }) } });
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { status: res.status, sha: h.digest('hex'), bytes, headers: res.headers };
}

describe('files over SFTP', () => {
  it('lists the login directory and any other, makes, renames and deletes, with clear errors', async () => {
    const p = await page();
    const home = (await (await api(p, 'list')).json()) as { path: string; entries: unknown[] };
    expect(home.path).toMatch(/^\//);
    expect((await api(p, 'mkdir', { method: 'POST', json: { path: `${dir}/sub` } })).status).toBe(201);
    writeFileSync(`${dir}/a.txt`, 'hello');
    const listing = (await (await api(p, `list?path=${encodeURIComponent(dir)}`)).json()) as { entries: { name: string; kind: string; size: number }[] };
    expect(listing.entries.map((e) => [e.name, e.kind])).toEqual([
      ['sub', 'dir'],
      ['a.txt', 'file'],
    ]);
    expect(listing.entries[1]!.size).toBe(5);
    const asList = await api(p, `list?path=${encodeURIComponent(`${dir}/a.txt`)}`);
    expect([asList.status, ((await asList.json()) as { code: string }).code]).toEqual([409, 'NOT_A_DIRECTORY']);
    const missing = await api(p, `list?path=${encodeURIComponent(`${dir}/nope`)}`);
    expect([missing.status, ((await missing.json()) as { code: string }).code]).toEqual([404, 'FILE_NOT_FOUND']);
    const denied = await api(p, `list?path=/root`);
    expect([denied.status, ((await denied.json()) as { code: string }).code]).toEqual([403, 'PERMISSION_DENIED']);

    expect((await api(p, 'rename', { method: 'POST', json: { from: `${dir}/a.txt`, to: `${dir}/sub/b.txt` } })).status).toBe(204);
    expect(readFileSync(`${dir}/sub/b.txt`, 'utf8')).toBe('hello');
    writeFileSync(`${dir}/c.txt`, 'other');
    const clash = await api(p, 'rename', { method: 'POST', json: { from: `${dir}/c.txt`, to: `${dir}/sub/b.txt` } });
    expect([clash.status, ((await clash.json()) as { code: string }).code]).toEqual([409, 'FILE_EXISTS']);
    expect((await api(p, 'delete', { method: 'POST', json: { path: `${dir}/sub/b.txt` } })).status).toBe(204);
    expect((await api(p, 'delete', { method: 'POST', json: { path: `${dir}/sub` } })).status).toBe(204);
    expect(existsSync(`${dir}/sub`)).toBe(false);
  });

  it('uploads and downloads 1 MB and 100 MB with matching sha256, resumes a download with Range, and keeps memory flat', async () => {
    const p = await page();
    for (const size of [1_000_000, 100_000_000]) {
      const path = `${dir}/up-${size}.bin`;
      const rssBefore = process.memoryUsage().rss;
      const up = await upload(p, path, size, `seed-${size}`);
      expect(up).toMatchObject({ status: 201 });
      expect(fileSha(path)).toBe(sha256Of(size, `seed-${size}`));
      expect(existsSync(`${path}.webssh-part`)).toBe(false);
      const down = await download(p, path);
      expect([down.status, down.bytes, down.sha]).toEqual([200, size, sha256Of(size, `seed-${size}`)]);
      expect(down.headers.get('content-disposition')).toBe(`attachment; filename*=UTF-8''up-${size}.bin`);
      // Gateway and this test share the process: both stream, so growth stays small.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    }
    const path = `${dir}/up-1000000.bin`;
    const tail = await download(p, path, 'bytes=400000-');
    expect([tail.status, tail.bytes, tail.sha]).toEqual([206, 600_000, sha256Of(1_000_000, 'seed-1000000', 400_000)]);
    expect(tail.headers.get('content-range')).toBe('bytes 400000-999999/1000000');
  }, 180_000);

  it('writes one audit line per transfer and operation: who, which session, what, how much, the result; never the contents', async () => {
    const p = await page();
    const marker = `CONTENT-${randomBytes(8).toString('hex')}`;
    const text = Buffer.from(`${marker}\n`.repeat(100));
    const put = await api(p, `upload?path=${encodeURIComponent(`${dir}/audited.txt`)}&size=${text.length}`, { method: 'PUT', body: text });
    expect(put.status).toBe(201);
    const got = await download(p, `${dir}/audited.txt`);
    expect(got.bytes).toBe(text.length);
    expect((await api(p, 'delete', { method: 'POST', json: { path: `${dir}/audited.txt` } })).status).toBe(204);
    const lines = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'file.transfer' && l.session === p.session);
    const who = { session: p.session, user: sshd.users.password.username, target: `127.0.0.1:${sshd.port}`, client: '127.0.0.1' };
    expect(lines).toEqual([
      expect.objectContaining({ ...who, action: 'upload', path: `${dir}/audited.txt`, from: 0, bytes: text.length, result: 'ok' }),
      expect.objectContaining({ ...who, action: 'download', path: `${dir}/audited.txt`, bytes: text.length, result: 'ok' }),
      expect.objectContaining({ ...who, action: 'delete', path: `${dir}/audited.txt` }),
    ]);
    expect(gw.logs.join('\n')).not.toContain(marker);
  });

  it('resumes an upload cut at ~50 % from the offset the server has; cancel removes the partial file', async () => {
    const p = await page();
    const size = 20_000_000;
    const path = `${dir}/resumed.bin`;
    expect(await upload(p, path, size, 'resume', { cutAt: 10_000_000 })).toBe('cut');
    const status = async () => ((await (await api(p, `upload?path=${encodeURIComponent(path)}`)).json()) as { offset: number }).offset;
    // Writes the gateway had in flight when the cut came still land; then the offset holds.
    let offset = await status();
    for (let i = 0; i < 50 && offset !== (await status()); i++) offset = await status();
    expect(offset).toBeGreaterThan(5_000_000);
    expect(offset).toBeLessThanOrEqual(10_000_000);
    expect(existsSync(path)).toBe(false);
    const wrong = await upload(p, path, size, 'resume', { from: offset - 1 });
    expect(wrong).toMatchObject({ status: 409, body: { code: 'UPLOAD_OFFSET_MISMATCH', offset } });
    expect(await upload(p, path, size, 'resume', { from: offset })).toMatchObject({ status: 201 });
    expect(fileSha(path)).toBe(sha256Of(size, 'resume'));

    const cancelled = `${dir}/cancelled.bin`;
    expect(await upload(p, cancelled, size, 'cancel', { cutAt: 2_000_000 })).toBe('cut');
    expect((await api(p, `upload?path=${encodeURIComponent(cancelled)}`, { method: 'DELETE' })).status).toBe(204);
    expect(existsSync(`${cancelled}.webssh-part`)).toBe(false);
    expect(existsSync(cancelled)).toBe(false);
  }, 120_000);

  it('answers every failure with its code: exists, too large, permission, no such directory, full disk, no subsystem, session ended', async () => {
    const p = await page();
    writeFileSync(`${dir}/exists.txt`, 'keep me');
    expect(await upload(p, `${dir}/exists.txt`, 10, 'x')).toMatchObject({ status: 409, body: { code: 'FILE_EXISTS' } });
    expect(readFileSync(`${dir}/exists.txt`, 'utf8')).toBe('keep me');
    expect(await upload(p, `${dir}/exists.txt`, 10, 'x', { overwrite: true })).toMatchObject({ status: 201 });
    expect(statSync(`${dir}/exists.txt`).size).toBe(10);
    const big = await api(p, `upload?path=${encodeURIComponent(`${dir}/big`)}&size=${LIMIT + 1}`, { method: 'PUT', body: '' });
    expect([big.status, ((await big.json()) as { code: string }).code]).toEqual([413, 'FILE_TOO_LARGE']);
    expect(await upload(p, '/root/nope.bin', 10, 'x')).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED' } });
    expect(await upload(p, `${dir}/no/such/dir.bin`, 10, 'x')).toMatchObject({ status: 404, body: { code: 'FILE_NOT_FOUND' } });

    // A 1 MiB filesystem the user may write: the upload fails with DISK_FULL, and says it can resume.
    const small = `${dir}/small-fs`;
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=1m,uid=${statSync(dir).uid}`, 'tmpfs', small]);
    try {
      const full = await upload(p, `${small}/big.bin`, 3_000_000, 'full');
      expect(full).toMatchObject({ status: 507, body: { code: 'DISK_FULL', resumable: true } });
    } finally {
      execFileSync('umount', [small]);
    }

    const none = await page(noSftp);
    const r = await api(none, 'list');
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([501, 'SFTP_UNAVAILABLE']);

    // The session ends in the middle of a download: the transfer stops, the link dies with it.
    const path = `${dir}/ending.bin`;
    execFileSync('sh', ['-c', `head -c 100000000 /dev/zero > ${path}`]);
    const linkRes = await api(p, 'download', { method: 'POST', json: { path } });
    const link = (await linkRes.json()) as { url: string };
    const res = await fetch(`${gw.url}/ssh/${link.url}`, { headers: { cookie: p.cookie } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = 0;
    while (got < 1_000_000) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the download ended after ${got} bytes`);
      got += value.length;
    }
    p.client.socket.emit('end');
    let ended = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value.length;
      }
    } catch {
      ended = true; // the connection was cut mid-body
    }
    await reader.cancel().catch(() => undefined);
    expect(ended || got < 100_000_000).toBe(true);
    const after = await fetch(`${gw.url}/ssh/${link.url}`, { headers: { cookie: p.cookie } });
    expect(after.status).toBe(404);
  }, 120_000);

  it('refuses another page, another browser, a cross-site write, and a busy terminal beyond SFTP_MAX_TRANSFERS', async () => {
    const p = await page();
    writeFileSync(`${dir}/secret.txt`, 'mine');
    const wrongSecret = await fetch(`${gw.url}/ssh/files/${p.session}/list`, { headers: { cookie: p.cookie, 'x-webssh-secret': randomBytes(32).toString('base64url') } });
    expect(wrongSecret.status).toBe(403);
    const otherBrowser = await fetch(`${gw.url}/ssh/files/${p.session}/list`, { headers: { cookie: `webssh_browser=${randomBytes(32).toString('base64url')}`, 'x-webssh-secret': p.secret } });
    expect(otherBrowser.status).toBe(403);
    const crossSite = await api(p, 'mkdir', { method: 'POST', json: { path: `${dir}/evil` }, headers: { origin: 'https://evil.example' } });
    expect([crossSite.status, ((await crossSite.json()) as { code: string }).code]).toEqual([403, 'ORIGIN_REJECTED']);
    expect(existsSync(`${dir}/evil`)).toBe(false);
    // A download link is worth nothing in another browser.
    const stolen = await download(p, `${dir}/secret.txt`, undefined, `webssh_browser=${randomBytes(32).toString('base64url')}`);
    expect(stolen.status).toBe(404);

    // Three uploads under way hold the terminal's three slots; a fourth transfer waits its turn.
    let release: () => void = () => undefined;
    const cutWhen = new Promise<void>((r) => (release = r));
    const held = [1, 2, 3].map((i) => upload(p, `${dir}/slot-${i}.bin`, 50_000_000, `slot-${i}`, { cutAt: 1_000_000, cutWhen }));
    await eventually('three uploads writing', () => [1, 2, 3].every((i) => existsSync(`${dir}/slot-${i}.bin.webssh-part`)));
    const fourth = await upload(p, `${dir}/slot-4.bin`, 10, 'x');
    release();
    await Promise.all(held);
    expect(fourth).toMatchObject({ status: 429, body: { code: 'TRANSFER_LIMIT' } });
  });
});
