/**
 * Which crypto path ssh2 runs on: its optional native binding (built by ssh2's install
 * script, which a plain `npm ci` here does not run) or Node's own crypto with JS glue.
 * Reported on /healthz and in the startup log, because it changes latency and CPU per MB
 * (docs/architecture.md, "No Nagle on the keystroke path").
 */
import { createRequire } from 'node:module';

export interface SshCryptoPath {
  /** true when ssh2 loaded its native binding (sshcrypto.node). */
  nativeBinding: boolean;
}

let cached: SshCryptoPath | undefined;

export function sshCryptoPath(): SshCryptoPath {
  if (cached) return cached;
  let nativeBinding = false;
  try {
    const crypto = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: unknown };
    nativeBinding = crypto.bindingAvailable === true;
  } catch {
    // ssh2's internals moved: report the conservative answer.
  }
  cached = { nativeBinding };
  return cached;
}
