import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { advertisedAddress, fileTarget } from '../../src/server/relay/fileRelay.js';

const iface = (address: string, internal: boolean, family: 'IPv4' | 'IPv6' = 'IPv4') => ({ address, internal, family }) as NetworkInterfaceInfo;

describe('file relay addressing', () => {
  it('names what a request is about, and nothing for malformed paths (they never cost a where)', () => {
    const session = '0b7f5a4e-2f1c-4b8e-9a3d-1c2b3a4d5e6f';
    expect(fileTarget(`/${session}/list`)).toEqual({ session });
    expect(fileTarget(`/get/${'A'.repeat(32)}/x.bin`)).toEqual({ ticket: 'A'.repeat(32) });
    expect(fileTarget('/not-a-uuid/list')).toBeUndefined();
    expect(fileTarget('/get/short/x.bin')).toBeUndefined();
    expect(fileTarget('/')).toBeUndefined();
  });

  it('announces the bound address, or for a wildcard bind the first external IPv4', () => {
    const ifs = { lo: [iface('127.0.0.1', true)], eth0: [iface('fe80::1', false, 'IPv6'), iface('172.18.0.3', false)] };
    expect(advertisedAddress('127.0.0.1', ifs)).toBe('127.0.0.1');
    expect(advertisedAddress('10.0.0.7', ifs)).toBe('10.0.0.7');
    expect(advertisedAddress('0.0.0.0', ifs)).toBe('172.18.0.3');
    expect(advertisedAddress('::', { lo: [iface('127.0.0.1', true)] })).toBe('127.0.0.1');
  });
});
