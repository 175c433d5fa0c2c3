import { describe, expect, it } from 'vitest';
import { checkTarget, parsePolicy, parseRule } from '../../src/server/core/targetPolicy.js';
import { resolveTarget } from '../../src/server/ssh/targetResolver.js';

describe('target policy', () => {
  it('defaults a rule to port 22 and honours port ranges', () => {
    const p = parsePolicy(['10.0.0.0/8', '127.0.0.1:2200-2299', 'bastion.example.com:*']);
    expect(checkTarget(p, '10.1.2.3', '10.1.2.3', 22).allowed).toBe(true);
    expect(checkTarget(p, '10.1.2.3', '10.1.2.3', 23).allowed).toBe(false);
    expect(checkTarget(p, '127.0.0.1', '127.0.0.1', 2222).allowed).toBe(true);
    expect(checkTarget(p, '127.0.0.1', '127.0.0.1', 2300).allowed).toBe(false);
    expect(checkTarget(p, 'Bastion.Example.com.', '203.0.113.9', 8022).allowed).toBe(true);
    expect(checkTarget(p, 'other.example.com', '203.0.113.9', 22).allowed).toBe(false);
    expect(p.allowsAnyHost).toBe(false);
  });

  it('checks the resolved address, not the name, for CIDR rules', () => {
    const p = parsePolicy(['192.168.0.0/16']);
    // A name that resolves into the range is allowed, one that resolves outside is not.
    expect(checkTarget(p, 'db.internal', '192.168.4.4', 22).allowed).toBe(true);
    expect(checkTarget(p, '192.168.4.4.evil.com', '8.8.8.8', 22).allowed).toBe(false);
  });

  it('supports IPv6 literals and CIDRs with and without ports', () => {
    const p = parsePolicy(['[fd00::]/8:22-23', '::1']);
    expect(checkTarget(p, 'fd12::1', 'fd12::1', 23).allowed).toBe(true);
    expect(checkTarget(p, '::1', '::1', 22).allowed).toBe(true);
    expect(checkTarget(p, 'fe80::1', 'fe80::1', 22).allowed).toBe(false);
  });

  it('flags an open proxy, even one limited to port 22', () => {
    expect(parsePolicy(['*:*']).allowsAnyHost).toBe(true);
    expect(parsePolicy(['*']).allowsAnyHost).toBe(true);
    expect(parsePolicy(['10.0.0.0/8:*']).allowsAnyHost).toBe(false);
  });

  it('rejects malformed rules with the rule in the message', () => {
    expect(() => parseRule('10.0.0.0/33')).toThrow(/10.0.0.0\/33/);
    expect(() => parseRule('host:99999')).toThrow(/99999/);
    expect(() => parseRule('a b')).toThrow();
  });

  it('resolves once and returns the checked address', async () => {
    const p = parsePolicy(['127.0.0.0/8:*']);
    const lookups: string[] = [];
    const lookup = (h: string) => {
      lookups.push(h);
      return Promise.resolve('127.0.0.7');
    };
    expect(await resolveTarget(p, 'box.test', 2022, lookup)).toEqual({ ok: true, address: '127.0.0.7' });
    expect(lookups).toEqual(['box.test']);
    const denied = await resolveTarget(p, 'evil.test', 22, () => Promise.resolve('10.0.0.1'));
    expect(denied).toMatchObject({ ok: false, code: 'TARGET_NOT_ALLOWED' });
    const failed = await resolveTarget(p, 'nope.test', 22, () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' })));
    expect(failed).toMatchObject({ ok: false, code: 'DNS_FAILED' });
  });
});

describe('link-local and cloud metadata targets', () => {
  const open = parsePolicy(['*:22']);

  it('the wildcard and broad CIDRs do not reach them, loopback and private ranges stay allowed', () => {
    for (const a of ['169.254.169.254', '169.254.170.2', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '168.63.129.16', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe']) {
      expect(checkTarget(open, 'metadata.test', a, 22), a).toMatchObject({ allowed: false, reason: expect.stringContaining('metadata') as unknown });
      expect(checkTarget(parsePolicy(['0.0.0.0/0', '::/0']), a, a, 22).allowed, a).toBe(false);
    }
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '172.16.0.1', 'fd12::1', '100.100.100.201', '203.0.113.9']) {
      expect(checkTarget(open, a, a, 22).allowed, a).toBe(true);
    }
  });

  it('a rule naming the address, a range inside the guarded one, or the host name reaches it', () => {
    expect(checkTarget(parsePolicy(['*:22', '169.254.169.254']), 'm', '169.254.169.254', 22).allowed).toBe(true);
    expect(checkTarget(parsePolicy(['169.254.0.0/16']), 'm', '169.254.1.1', 22).allowed).toBe(true);
    expect(checkTarget(parsePolicy(['[fe80::]/64']), 'fe80::1', 'fe80::1', 22).allowed).toBe(true);
    expect(checkTarget(parsePolicy(['metadata.test']), 'metadata.test', '169.254.169.254', 22).allowed).toBe(true);
    expect(checkTarget(parsePolicy(['169.254.0.0/15']), 'm', '169.254.1.1', 22).allowed).toBe(false); // wider than the range
  });

  it('the resolver refuses a name that resolves there with TARGET_NOT_ALLOWED', async () => {
    const metadata = () => Promise.resolve('169.254.169.254');
    expect(await resolveTarget(open, 'evil.test', 22, metadata)).toMatchObject({ ok: false, code: 'TARGET_NOT_ALLOWED' });
    expect(await resolveTarget(parsePolicy(['*:22', 'evil.test']), 'evil.test', 22, metadata)).toEqual({ ok: true, address: '169.254.169.254' });
  });
});
