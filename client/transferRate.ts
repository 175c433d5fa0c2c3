/** A transfer's progress line: bytes, rate and time left, and byte counts for people (pure). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function transferText(sent: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (sent / elapsedMs) * 1000 : 0;
  const left = rate > 0 ? Math.ceil((total - sent) / rate) : undefined;
  const eta = left === undefined ? '' : left >= 120 ? ` · ${Math.round(left / 60)} min left` : ` · ${left} s left`;
  return `${formatBytes(sent)} of ${formatBytes(total)} · ${formatBytes(Math.round(rate))}/s${eta}`;
}
