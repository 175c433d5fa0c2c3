/**
 * Credentials handed over by POST or HTTP Basic reach the socket through the session
 * as a one-time, short-lived grant, sealed with AES-256-GCM under a key derived from
 * the session secret (HKDF). The session store (Redis in a cluster) only ever holds
 * ciphertext; the grant is deleted the moment it is taken.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { credentialsSchema, type Credentials } from '../../shared/schemas.js';

export interface SealedGrant {
  v: 1;
  iv: string;
  tag: string;
  data: string;
  expiresAt: number;
}

export class GrantSealer {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'webssh-grant', 'credential grant v1', 32));
  }

  seal(credentials: Credentials, ttlMs: number, now = Date.now()): SealedGrant {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const expiresAt = now + ttlMs;
    cipher.setAAD(Buffer.from(String(expiresAt)));
    const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64'), expiresAt };
  }

  /** Returns the credentials, or undefined when expired, tampered with or malformed. */
  open(grant: unknown, now = Date.now()): Credentials | undefined {
    const g = grant as Partial<SealedGrant> | undefined;
    if (!g || g.v !== 1 || typeof g.expiresAt !== 'number' || g.expiresAt < now) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(String(g.iv), 'base64'));
      decipher.setAAD(Buffer.from(String(g.expiresAt)));
      decipher.setAuthTag(Buffer.from(String(g.tag), 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(String(g.data), 'base64')), decipher.final()]);
      const parsed = credentialsSchema.safeParse(JSON.parse(plain.toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
