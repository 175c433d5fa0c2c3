/**
 * Addresses a wildcard target rule (`*`, the default `*:22`) never reaches: link-local
 * ranges and the cloud metadata services, which hand out the gateway host's own cloud
 * credentials to anyone who can open a TCP connection from it. Loopback and private
 * ranges are not here: users reach their own LAN, and the open-proxy warning covers it.
 * Only a rule that names such an address (a CIDR inside one of these ranges, or a host
 * name) reaches it. Pure: no I/O.
 */
import { BlockList } from 'node:net';

/** [range, why]; docs/security.md lists the same. */
export const GUARDED_RANGES: readonly (readonly [string, string])[] = [
  ['169.254.0.0/16', 'IPv4 link-local: the metadata service of AWS, GCP, Azure, OCI, OpenStack, DigitalOcean, Hetzner (169.254.169.254), AWS ECS (169.254.170.2), Tencent (169.254.0.23)'],
  ['fe80::/10', 'IPv6 link-local'],
  ['fd00:ec2::/32', 'AWS Nitro over IPv6: metadata fd00:ec2::254, DNS, time'],
  ['100.100.100.200/32', 'Alibaba Cloud metadata'],
  ['168.63.129.16/32', 'Azure WireServer (VM agent, certificates, DNS)'],
];

interface Range {
  list: BlockList;
  prefix: number;
}

const ranges: Range[] = GUARDED_RANGES.map(([cidr]) => {
  const [addr = '', prefixText = ''] = cidr.split('/');
  const type = addr.includes(':') ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(addr, Number(prefixText), type);
  return { list, prefix: Number(prefixText) };
});

const familyOf = (address: string) => (address.includes(':') ? 'ipv6' : 'ipv4');

/** True for an address in a guarded range (IPv4-mapped IPv6 forms included: BlockList maps them). */
export function isGuardedAddress(address: string): boolean {
  return ranges.some((r) => r.list.check(address, familyOf(address)));
}

/** True when the CIDR `address/prefix` lies wholly inside one guarded range: it names it. */
export function namesGuardedRange(address: string, prefix: number): boolean {
  return ranges.some((r) => prefix >= r.prefix && r.list.check(address, familyOf(address)));
}
