/** A resumed download's Range, answered right for every form a client sends. */
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../src/server/core/byteRange.js';
import { DownloadTickets } from '../../src/server/files/downloadTickets.js';
import { fileErrorCode, httpStatusFor } from '../../src/server/files/sftpErrors.js';

describe('byte ranges', () => {
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=400-', { kind: 'partial', start: 400, end: 999 }],
    ['bytes=400-499', { kind: 'partial', start: 400, end: 499 }],
    ['bytes=900-5000', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=500-400', { kind: 'full' }],
    ['bytes=0-1,5-6', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
  ])('%s of 1000 bytes', (header, answer) => {
    expect(parseRange(header, 1000)).toEqual(answer);
  });
});

describe('download tickets', () => {
  it('work only for the cookie that asked, and not after they expire', () => {
    let now = 0;
    const tickets = new DownloadTickets(1000, 10, () => now);
    const owner = Buffer.alloc(32, 1);
    const id = tickets.issue('s1', '/f', owner);
    expect(tickets.use(id, owner)).toMatchObject({ session: 's1', path: '/f' });
    expect(tickets.use(id, Buffer.alloc(32, 2))).toBeUndefined();
    expect(tickets.use(id, undefined)).toBeUndefined();
    now = 1000;
    expect(tickets.use(id, owner)).toBeUndefined();
  });

  it('stay bounded in count', () => {
    const tickets = new DownloadTickets(60_000, 3, () => 0);
    const owner = Buffer.alloc(32, 1);
    const ids = [1, 2, 3, 4, 5].map((i) => tickets.issue('s', `/f${i}`, owner));
    expect(ids.filter((id) => tickets.use(id, owner)).length).toBeLessThanOrEqual(3);
    expect(tickets.use(ids[4]!, owner)).toBeDefined();
  });
});

describe('SFTP errors', () => {
  it('map SFTP status codes and our own to codes and HTTP statuses', () => {
    expect(fileErrorCode({ code: 2 })).toBe('FILE_NOT_FOUND');
    expect(fileErrorCode({ code: 3 })).toBe('PERMISSION_DENIED');
    expect(fileErrorCode({ code: 4 })).toBe('SFTP_FAILED');
    expect(fileErrorCode({ gatewayCode: 'NOT_A_DIRECTORY' })).toBe('NOT_A_DIRECTORY');
    expect(fileErrorCode(new Error('No response from server'))).toBe('TRANSFER_ABORTED');
    expect([httpStatusFor('FILE_TOO_LARGE'), httpStatusFor('DISK_FULL'), httpStatusFor('SFTP_UNAVAILABLE')]).toEqual([413, 507, 501]);
  });
});
