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
