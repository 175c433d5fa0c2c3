import { describe, expect, it } from 'vitest';
import { GrantSealer } from '../../src/server/core/credentialGrant.js';
import { fingerprintOf, MemoryKnownHosts, parsePins, verifyHostKey } from '../../src/server/core/hostKeyPolicy.js';
import { claimedOrigin, hostAllowed, originAllowed } from '../../src/server/core/originPolicy.js';
import { parseBasicAuth } from '../../src/server/http/basicAuth.js';
import { escapeHtml, relativeRoot } from '../../src/server/http/page.js';
import { createLogger } from '../../src/server/log.js';

const creds = { host: 'h.example', port: 22, username: 'alice', password: 'hunter2-secret' };

describe('credential grant', () => {
  it('round-trips, and holds no plaintext', () => {
    const sealer = new GrantSealer('s'.repeat(40));
    const grant = sealer.seal(creds, 60_000);
    expect(JSON.stringify(grant)).not.toContain('hunter2');
    expect(JSON.stringify(grant)).not.toContain('alice');
    expect(sealer.open(grant)).toEqual(creds);
  });

  it('refuses expired, tampered and foreign-key grants', () => {
    const sealer = new GrantSealer('s'.repeat(40));
    const grant = sealer.seal(creds, 1000, 0);
    expect(sealer.open(grant, 2000)).toBeUndefined();
    const fresh = sealer.seal(creds, 60_000);
    expect(new GrantSealer('t'.repeat(40)).open(fresh)).toBeUndefined();
    expect(sealer.open({ ...fresh, expiresAt: fresh.expiresAt + 1 })).toBeUndefined(); // expiry is authenticated
    expect(sealer.open({ ...fresh, data: Buffer.from('x').toString('base64') })).toBeUndefined();
    expect(sealer.open('garbage')).toBeUndefined();
  });
});

describe('host key policy', () => {
  const keyA = Buffer.from('key-a');
  const keyB = Buffer.from('key-b');
  const target = { host: 'Srv.example', address: '10.0.0.5', port: 22 };

  it('computes OpenSSH-style fingerprints', () => {
    expect(fingerprintOf(keyA)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('trusts on first use and rejects a changed key', async () => {
    const opts = { policy: 'tofu' as const, pins: [], store: new MemoryKnownHosts() };
    expect((await verifyHostKey(opts, target, keyA)).ok).toBe(true);
    expect((await verifyHostKey(opts, target, keyA)).ok).toBe(true);
    const changed = await verifyHostKey(opts, target, keyB);
    expect(changed).toMatchObject({ ok: false, reason: expect.stringContaining('changed') as unknown });
  });

  it('enforces pins by name or address, and strict mode refuses unpinned hosts', async () => {
    const pins = parsePins([`10.0.0.5=${fingerprintOf(keyA)}`]);
    const store = new MemoryKnownHosts();
    expect((await verifyHostKey({ policy: 'strict', pins, store }, target, keyA)).ok).toBe(true);
    expect((await verifyHostKey({ policy: 'tofu', pins, store }, target, keyB)).ok).toBe(false);
    expect((await verifyHostKey({ policy: 'strict', pins, store }, { ...target, port: 2222 }, keyA)).ok).toBe(false);
    expect(() => parsePins(['host=MD5:aa'])).toThrow();
  });
});

describe('origin policy', () => {
  it('allows same-origin, listed origins and origin-less clients only', () => {
    expect(originAllowed('https://gw.example', 'gw.example', [])).toBe(true);
    expect(originAllowed('http://127.0.0.1:2222', '127.0.0.1:2222', [])).toBe(true);
    expect(originAllowed(undefined, 'gw.example', [])).toBe(true);
    expect(originAllowed('https://evil.example', 'gw.example', [])).toBe(false);
    expect(originAllowed('http://127.0.0.1:9999', '127.0.0.1:2222', [])).toBe(false);
    expect(originAllowed('null', 'gw.example', [])).toBe(false);
    expect(originAllowed('https://portal.example', 'gw.example', ['https://portal.example'])).toBe(true);
  });

  it('falls back to the Referer origin for POST logins, refusing an unparsable one', () => {
    expect(claimedOrigin('https://a.example', 'https://b.example/x')).toBe('https://a.example');
    expect(claimedOrigin(undefined, 'https://b.example/login?x=1')).toBe('https://b.example');
    expect(claimedOrigin(undefined, 'not a url')).toBe('null');
    expect(claimedOrigin(undefined, undefined)).toBeUndefined();
  });

  it('checks Host against ALLOWED_HOSTS, by name or by name:port', () => {
    expect(hostAllowed('rebind.evil.example:2222', [])).toBe(true); // no list, no check
    expect(hostAllowed('GW.example:2222', ['gw.example'])).toBe(true);
    expect(hostAllowed('gw.example.', ['gw.example'])).toBe(true);
    expect(hostAllowed('gw.example:2222', ['gw.example:443'])).toBe(false);
    expect(hostAllowed('gw.example:443', ['gw.example:443'])).toBe(true);
    expect(hostAllowed('[::1]:2222', ['[::1]'])).toBe(true);
    expect(hostAllowed('rebind.evil.example:2222', ['gw.example'])).toBe(false);
    expect(hostAllowed(undefined, ['gw.example'])).toBe(false);
    expect(hostAllowed('gw.example:2222:x', ['gw.example'])).toBe(false);
  });
});

describe('http helpers', () => {
  it('parses Basic credentials, passwords with colons included', () => {
    const h = `Basic ${Buffer.from('bob:pa:ss').toString('base64')}`;
    expect(parseBasicAuth(h)).toEqual({ username: 'bob', password: 'pa:ss' });
    expect(parseBasicAuth('Bearer x')).toBeUndefined();
    expect(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
  });

  it('computes the relative root for each route shape', () => {
    expect(relativeRoot('/ssh', '/ssh')).toBe('ssh/');
    expect(relativeRoot('/ssh', '/ssh/')).toBe('./');
    expect(relativeRoot('/ssh', '/ssh/host/box')).toBe('../');
    expect(relativeRoot('/tools/ssh', '/tools/ssh')).toBe('ssh/');
  });

  it('escapes HTML attribute values', () => {
    expect(escapeHtml(`"><script>`)).toBe('&#34;&#62;&#60;script&#62;');
  });
});

describe('logger', () => {
  it('redacts secret-looking fields at any depth', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l));
    log.info('x', { creds: { password: 'hunter2', privateKey: 'KEY', nested: { passphrase: 'pp' } }, user: 'alice' });
    log.debug('hidden');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/hunter2|KEY|"pp"/);
    expect(lines[0]).toContain('alice');
  });
});
