/** The running release, shown on /healthz so a deploy can tell when every worker runs it. */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const version: string = process.env.APP_VERSION ?? pkg.version;
