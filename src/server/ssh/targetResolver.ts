/**
 * Resolves a requested host once, checks the resolved address against the target
 * policy and returns that address: ssh2 then connects to the IP, never to the name, so
 * DNS cannot answer differently between the check and the connect.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ErrorCode } from '../../shared/errors.js';
import { checkTarget, type TargetPolicy } from '../core/targetPolicy.js';

export type Lookup = (host: string) => Promise<string>;

export type Resolution = { ok: true; address: string } | { ok: false; code: ErrorCode; detail: string };

const DNS_TIMEOUT_MS = 5000;

export const systemLookup: Lookup = async (host) => (await dnsLookup(host, { verbatim: true })).address;

export async function resolveTarget(policy: TargetPolicy, host: string, port: number, lookup: Lookup = systemLookup): Promise<Resolution> {
  let address = host;
  if (isIP(host) === 0) {
    let timer: NodeJS.Timeout | undefined;
    try {
      address = await Promise.race([
        lookup(host),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('DNS lookup timed out'), { code: 'EAI_AGAIN' })), DNS_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      return { ok: false, code: 'DNS_FAILED', detail: `${host}: ${(err as { code?: string }).code ?? 'lookup failed'}` };
    } finally {
      clearTimeout(timer);
    }
  }
  const verdict = checkTarget(policy, host, address, port);
  return verdict.allowed ? { ok: true, address } : { ok: false, code: 'TARGET_NOT_ALLOWED', detail: verdict.reason };
}
