/**
 * The running release, shown on /healthz so a deploy can tell when every worker runs it.
 * A release directory made by the deploy tool carries `release.json`; a checkout does not
 * and reports package.json's version. APP_VERSION overrides both.
 */
import { existsSync, readFileSync } from 'node:fs';

const read = (rel: string) => {
  const url = new URL(rel, import.meta.url);
  return existsSync(url) ? (JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }) : {};
};

const release = read('../../release.json').version;

export const version: string =
  process.env.APP_VERSION ?? (typeof release === 'string' ? release : String(read('../../package.json').version));
