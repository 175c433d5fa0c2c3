/**
 * Which SSH targets the gateway may connect to. Pure: parsing rules and checking a
 * (requested name, resolved address, port) triple. The resolver (targetResolver.ts)
 * resolves once and connects to exactly the address checked here.
 *
 * Rule syntax (comma separated): `<host>[:<ports>]` where host is `*`, an IP, a CIDR
 * (`10.0.0.0/8`, `[fd00::]/8`) or a host name (matched by name, case-insensitively),
 * and ports is `*`, `22` or `2200-2299`. Without ports a rule allows port 22 only.
 *
 * Link-local and cloud metadata addresses (guardedTargets.ts) are reached only through a
 * rule that names them: a host name, or a CIDR inside a guarded range. `*` and broad
 * CIDRs such as 0.0.0.0/0 do not reach them.
 */
import { BlockList, isIP } from 'node:net';
import { isGuardedAddress, namesGuardedRange } from './guardedTargets.js';

export interface TargetRule {
  source: string;
  kind: 'any' | 'cidr' | 'name';
  name?: string;
  list?: BlockList;
  /** A CIDR rule inside a link-local / metadata range: it may reach those addresses. */
  namesGuarded?: boolean;
  ports: { from: number; to: number };
}

export interface TargetPolicy {
  rules: readonly TargetRule[];
  /** True when some rule admits any host: the gateway is an open proxy (on those ports). */
  allowsAnyHost: boolean;
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

function parsePorts(text: string | undefined): { from: number; to: number } {
  if (text === undefined) return { from: 22, to: 22 };
  if (text === '*') return { from: 1, to: 65535 };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = Number(m?.[1]);
  const to = m?.[2] === undefined ? from : Number(m[2]);
  if (!m || from < 1 || to > 65535 || from > to) throw new Error(`bad port range "${text}"`);
  return { from, to };
}

function splitRule(rule: string): { host: string; ports: string | undefined } {
  const bracketed = /^\[([^\]]+)\](\/\d+)?(?::(.+))?$/.exec(rule);
  if (bracketed) return { host: `${bracketed[1]}${bracketed[2] ?? ''}`, ports: bracketed[3] };
  const colons = rule.split(':').length - 1;
  if (colons === 1) {
    const [host = '', ports] = rule.split(':');
    return { host, ports };
  }
  return { host: rule, ports: undefined }; // bare IPv6 (no port part) or plain host
}

export function parseRule(source: string): TargetRule {
  const { host, ports: portText } = splitRule(source.trim());
  const ports = parsePorts(portText);
  if (host === '*') return { source, kind: 'any', ports };
  const [addr = '', prefixText] = host.split('/');
  const family = isIP(addr);
  if (family !== 0) {
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const prefix = prefixText === undefined ? (family === 4 ? 32 : 128) : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`bad prefix length in "${source}"`);
    }
    const list = new BlockList();
    list.addSubnet(addr, prefix, type);
    return { source, kind: 'cidr', list, namesGuarded: namesGuardedRange(addr, prefix), ports };
  }
  if (prefixText !== undefined || !/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`bad host in "${source}"`);
  return { source, kind: 'name', name: host.toLowerCase().replace(/\.$/, ''), ports };
}

export function parsePolicy(rules: readonly string[]): TargetPolicy {
  const parsed = rules.map(parseRule);
  return { rules: parsed, allowsAnyHost: parsed.some((r) => r.kind === 'any') };
}

function addressMatches(rule: TargetRule, name: string, address: string, guarded: boolean): boolean {
  switch (rule.kind) {
    case 'any':
      return !guarded;
    case 'name':
      return rule.name === name.toLowerCase().replace(/\.$/, '');
    case 'cidr': {
      const family = isIP(address);
      if (guarded && !rule.namesGuarded) return false;
      return family !== 0 && rule.list!.check(address, family === 4 ? 'ipv4' : 'ipv6');
    }
  }
}

/** Checks the address the gateway will actually connect to (never a name resolved later). */
export function checkTarget(policy: TargetPolicy, name: string, address: string, port: number): Verdict {
  const guarded = isIP(address) !== 0 && isGuardedAddress(address);
  const ok = policy.rules.some(
    (r) => port >= r.ports.from && port <= r.ports.to && addressMatches(r, name, address, guarded),
  );
  if (ok) return { allowed: true };
  const why = guarded ? 'is link-local or a cloud metadata address; only a rule naming it allows it' : 'matches no allowed target';
  return { allowed: false, reason: `${name} (${address}) port ${port} ${why}` };
}
