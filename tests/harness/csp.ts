/**
 * Content-Security-Policy checks that cannot pass by accident: the header is parsed into
 * directives and compared whole, so an added source (`'unsafe-inline'` in script-src), a
 * dropped directive or a second policy appended by a proxy all fail.
 */
import { expect } from 'vitest';

/** The policy the gateway must send, written out here on purpose (not imported from src/). */
export const GATEWAY_CSP: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  // xterm.js sizes its DOM with injected <style> rules (docs/architecture.md).
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** What NGINX sends on the responses it makes itself (health, 502/504). */
export const NGINX_OWN_CSP: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/** Directive name → source list. Throws on a repeated directive or a second policy (`,`). */
export function parseCsp(header: string | null): Record<string, string[]> {
  if (header === null || header.trim() === '') throw new Error('no Content-Security-Policy header');
  if (header.includes(',')) throw new Error(`more than one policy in one header: ${header}`);
  const out: Record<string, string[]> = {};
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    const key = name.toLowerCase();
    if (key in out) throw new Error(`directive ${key} appears twice: ${header}`);
    out[key] = sources;
  }
  return out;
}

/** Asserts the header is exactly `expected`: same directives, same sources in any order. */
export function expectCsp(header: string | null, expected: Readonly<Record<string, readonly string[]>> = GATEWAY_CSP): void {
  const sorted = (p: Readonly<Record<string, readonly string[]>>) =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v].sort()]));
  expect(sorted(parseCsp(header))).toEqual(sorted(expected));
}
