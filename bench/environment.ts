/** What a benchmark result is only meaningful with: the machine, the versions, the commit. */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  // nginx and ssh print their version on stderr
  return ((r.stdout || r.stderr || 'unknown').trim().split('\n')[0] ?? 'unknown').trim();
}

export function environment(workers: number) {
  return {
    date: new Date().toISOString(),
    commit: version('git', ['rev-parse', '--short', 'HEAD']),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    versions: {
      node: process.version,
      openssh: version('ssh', ['-V']),
      nginx: version('nginx', ['-v']),
      redis: version('redis-server', ['--version']),
      chromium: version('/usr/bin/chromium', ['--version']),
    },
    workers,
  };
}
