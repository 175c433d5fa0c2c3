/**
 * What the admin endpoint reports about a terminal session, wherever in the cluster it
 * runs. Plain JSON: it travels between workers through the Socket.IO adapter.
 */
export interface SessionSummary {
  id: string;
  /** Which gateway process runs it: host name, PM2 instance (if any) and pid. */
  node: NodeIdentity;
  /** The browser's address as NGINX forwarded it (trusted hops only). */
  client: string;
  target: { username: string; host: string; port: number } | null;
  /** ISO 8601. */
  startedAt: string;
  /** Keystrokes and pastes sent to SSH. */
  bytesIn: number;
  /** Terminal output sent to the browser. */
  bytesOut: number;
  /** Whether a page is attached now (issue 13: a session outlives its socket). */
  attached: boolean;
  /** ISO 8601, while detached: since when no page is attached. */
  detachedSince: string | null;
  /** Operators watching it read-only now. */
  watchers: number;
}

export interface NodeIdentity {
  host: string;
  instance: string | null;
  pid: number;
}

export interface SessionListing {
  sessions: SessionSummary[];
  /** Gateway processes that answered, this one included. */
  nodes: number;
  /** True when some process did not answer in time (e.g. killed a moment ago). */
  incomplete: boolean;
}

/** A session recording (issue 15), as `GET <base>/admin/recordings` lists it. */
export interface RecordingSummary {
  /** The file name, also its URL under `<base>/admin/recordings/`. */
  name: string;
  session: string;
  /** From the file's header; null when it cannot be read (e.g. cut short at the first line). */
  target: { username: string; host: string; port: number } | null;
  client: string | null;
  /** ISO 8601: when the shell opened. */
  startedAt: string;
  /** ISO 8601: the last write. */
  modifiedAt: string;
  size: number;
  /**
   * `complete`: ends with the session's end marker. `recording`: no end marker yet, being
   * written by a worker of this host (or its process died before the session ended).
   * `incomplete`: cut short (disk full, too slow, …).
   */
  state: 'recording' | 'complete' | 'incomplete';
}

export interface RecordingListing {
  /** False when RECORDINGS_DIR is not set. */
  enabled: boolean;
  /** Newest first, at most 1,000. */
  recordings: RecordingSummary[];
  /** The process that read its directory (each host has its own). */
  node: NodeIdentity;
}
