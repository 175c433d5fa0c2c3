/**
 * Host key verification. Pins from configuration always win: a pinned target must
 * present exactly that key. Unpinned targets: `strict` refuses them, `tofu` trusts the
 * first key seen for host:port and refuses any later different key (a changed host key
 * is what a man-in-the-middle looks like). Pure apart from the injected store.
 */
import { createHash } from 'node:crypto';

export interface HostKeyPin {
  host: string;
  port: number;
  fingerprint: string;
}

/** Remembered keys for trust-on-first-use; in-memory here, shared in a cluster. */
export interface KnownHostsStore {
  /** Stores `fingerprint` unless one is known; returns the one on record. */
  remember(hostPort: string, fingerprint: string): Promise<string>;
}

export type HostKeyVerdict = { ok: true; fingerprint: string } | { ok: false; fingerprint: string; reason: string };

/** OpenSSH's format: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export function parsePins(entries: readonly string[]): HostKeyPin[] {
  return entries.map((entry) => {
    const m = /^(\[[^\]]+\]|[^:=]+)(?::(\d{1,5}))?=(SHA256:[A-Za-z0-9+/]{43})$/.exec(entry);
    if (!m) throw new Error(`"${entry}" is not host[:port]=SHA256:<43 base64 chars>`);
    return { host: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port: Number(m[2] ?? 22), fingerprint: m[3]! };
  });
}

export class MemoryKnownHosts implements KnownHostsStore {
  readonly #keys = new Map<string, string>();

  remember(hostPort: string, fingerprint: string): Promise<string> {
    const known = this.#keys.get(hostPort);
    if (known !== undefined) return Promise.resolve(known);
    this.#keys.set(hostPort, fingerprint);
    return Promise.resolve(fingerprint);
  }
}

export async function verifyHostKey(
  opts: { policy: 'tofu' | 'strict'; pins: readonly HostKeyPin[]; store: KnownHostsStore },
  target: { host: string; address: string; port: number },
  keyBlob: Buffer,
): Promise<HostKeyVerdict> {
  const fingerprint = fingerprintOf(keyBlob);
  const names = new Set([target.host.toLowerCase(), target.address]);
  const pins = opts.pins.filter((p) => p.port === target.port && names.has(p.host));
  if (pins.length > 0) {
    return pins.some((p) => p.fingerprint === fingerprint)
      ? { ok: true, fingerprint }
      : { ok: false, fingerprint, reason: 'host key does not match the pinned fingerprint' };
  }
  if (opts.policy === 'strict') return { ok: false, fingerprint, reason: 'no pinned host key for this target' };
  const known = await opts.store.remember(`${target.host.toLowerCase()}:${target.port}`, fingerprint);
  return known === fingerprint
    ? { ok: true, fingerprint }
    : { ok: false, fingerprint, reason: `host key changed (on record: ${known})` };
}
