/**
 * Which recordings a retention sweep deletes, pure: first everything older than the
 * maximum age, then the oldest of the rest until the total fits the byte budget. A
 * recording this process is still writing is never chosen (it still counts towards the
 * total: its bytes are on the disk).
 */
export interface RecordingFile {
  name: string;
  mtimeMs: number;
  size: number;
}

export interface RetentionLimits {
  /** 0 = no age limit. */
  maxAgeMs: number;
  /** 0 = no size limit. */
  maxBytes: number;
}

export function selectForDeletion(files: readonly RecordingFile[], limits: RetentionLimits, now: number, active: ReadonlySet<string>): string[] {
  const doomed: string[] = [];
  const kept: RecordingFile[] = [];
  for (const f of files) {
    if (!active.has(f.name) && limits.maxAgeMs > 0 && now - f.mtimeMs > limits.maxAgeMs) doomed.push(f.name);
    else kept.push(f);
  }
  if (limits.maxBytes > 0) {
    let total = kept.reduce((sum, f) => sum + f.size, 0);
    // Oldest first by last write; the name (start time) breaks ties, so every worker
    // sweeping the same directory picks the same files.
    const byAge = kept.filter((f) => !active.has(f.name)).sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    for (const f of byAge) {
      if (total <= limits.maxBytes) break;
      doomed.push(f.name);
      total -= f.size;
    }
  }
  return doomed;
}
