import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/shared/limits.js';
import { ackSchema, credentialsSchema, inputSchema, sizeSchema, startSchema } from '../../src/shared/schemas.js';

describe('payload schemas', () => {
  it('clamps huge sizes and rejects zero, negative and non-integer ones', () => {
    expect(sizeSchema.parse({ cols: 100000, rows: 100000 })).toEqual({ cols: LIMITS.maxCols, rows: LIMITS.maxRows });
    for (const bad of [{ cols: 0, rows: 0 }, { cols: -1, rows: 10 }, { cols: 1.5, rows: 10 }, { cols: '80', rows: 24 }, { cols: 1e300, rows: 1 }, null]) {
      expect(sizeSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('accepts a well-formed start and rejects extra or wrong fields', () => {
    const ok = { auth: { kind: 'credentials', credentials: { host: 'example.com', username: 'u', password: 'p' } }, size: { cols: 80, rows: 24 } };
    expect(startSchema.parse(ok).auth).toMatchObject({ credentials: { port: 22 } });
    expect(startSchema.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(startSchema.safeParse({ auth: { kind: 'grant' }, size: { cols: 80 } }).success).toBe(false);
    expect(startSchema.safeParse({ auth: { kind: 'magic' }, size: { cols: 80, rows: 24 } }).success).toBe(false);
  });

  it('accepts host names and IP literals only', () => {
    const host = (h: string) => credentialsSchema.safeParse({ host: h, username: 'u' });
    expect(host('[::1]').success && host('[::1]').data?.host).toBe('::1');
    expect(host('srv-1.example.com').success).toBe(true);
    for (const bad of ['', 'user@host', 'http://x', 'a b', 'x'.repeat(300), '-lead.example']) expect(host(bad).success).toBe(false);
    expect(credentialsSchema.safeParse({ host: 'h', username: 'u', port: 70000 }).success).toBe(false);
  });

  it('bounds input and acks', () => {
    expect(inputSchema.safeParse('ls\r').success).toBe(true);
    expect(inputSchema.safeParse(new Uint8Array(10)).success).toBe(true);
    expect(inputSchema.safeParse('x'.repeat(LIMITS.maxInputBytes + 1)).success).toBe(false);
    expect(inputSchema.safeParse({ toString: 'x' }).success).toBe(false);
    expect(ackSchema.safeParse(0).success).toBe(false);
    expect(ackSchema.safeParse(Number.NaN).success).toBe(false);
    expect(ackSchema.safeParse(4096).success).toBe(true);
  });
});
