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
