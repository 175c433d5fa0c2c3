/**
 * Runs in vitest's main process before any worker starts: workers inherit this variable,
 * and their reapers (src/tools/reaper.ts) end them and all they started if the main
 * process is killed while they run (a Ctrl-C that reached only vitest, a CI timeout).
 */
import { REAP_WITH_ENV } from '../../src/tools/reaper.js';

export default function setup(): void {
  process.env[REAP_WITH_ENV] = String(process.pid);
}
