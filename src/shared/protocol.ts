/**
 * The Socket.IO protocol between the browser and the gateway: one set of typed event
 * maps for both sides. Every client-to-server payload is validated at runtime on the
 * server (see schemas.ts); the server never trusts these types alone.
 *
 * Lifecycle: the client emits `start` once; the server answers with `status` updates,
 * `output` (one bare binary frame each, outputFrames.ts) and, for keyboard-interactive
 * auth, `kbdPrompt`; it ends with exactly one `ended`. Non-fatal problems (a malformed
 * message) produce `problem`.
 *
 * Resume (issue 13): once connected, the server sends `attached` with the session's id,
 * a resume secret (rotated at every attach) and the byte offset of the next `output`.
 * A socket that drops leaves the session detached for `detachSeconds`; a new socket
 * of the same browser emits `resume` instead of `start`, with the offset it has (or
 * none, for a fresh page), and gets `attached` again, then exactly the missing output.
 */
import type { ErrorInfo } from './errors.js';
import type { ResumeRequest, StartRequest } from './schemas.js';

export type SessionState = 'connecting' | 'authenticating' | 'connected';

export interface StatusMessage {
  state: SessionState;
  /** user@host:port once known. */
  target?: { username: string; host: string; port: number };
  /** SHA256 fingerprint of the server's host key, once verified. */
  hostKey?: string;
}

export interface KbdPromptMessage {
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
}

export interface NoticeMessage {
  message: string;
  /** Epoch milliseconds after which the gateway closes this session, if any. */
  deadline?: number;
}

export interface AttachedMessage {
  session: string;
  /** Proves this page may resume the session; valid until the next `attached`. */
  secret: string;
  /** Stream offset of the first byte of the next `output`. */
  offset: number;
  /** True when the page asked for older output than the gateway kept. */
  gap: boolean;
  /** Epoch milliseconds. */
  startedAt: number;
  target: { username: string; host: string; port: number };
  /** How long the session waits for a page after its socket drops (0: it does not). */
  detachSeconds: number;
}

export interface ServerToClientEvents {
  status: (msg: StatusMessage) => void;
  attached: (msg: AttachedMessage) => void;
  /** Terminal output, raw bytes (never strings: UTF-8 may be split across frames). */
  output: (data: ArrayBuffer | Uint8Array) => void;
  kbdPrompt: (msg: KbdPromptMessage) => void;
  notice: (msg: NoticeMessage) => void;
  problem: (err: ErrorInfo) => void;
  ended: (err: ErrorInfo) => void;
}

export interface ClientToServerEvents {
  start: (req: StartRequest) => void;
  resume: (req: ResumeRequest) => void;
  input: (data: string | Uint8Array) => void;
  resize: (size: { cols: number; rows: number }) => void;
  /** Bytes of `output` rendered since the last ack. */
  ack: (bytes: number) => void;
  kbdAnswers: (answers: string[]) => void;
  end: () => void;
  /** Admin sockets only (handshake `auth.adminToken`): watch a session, read-only. */
  watch: (req: { session: string }) => void;
}

/** Values the page receives in its `<meta name="webssh-config">`. */
export interface PageConfig {
  /** Relative URL from the page to the base path, ending in `/` (e.g. `ssh/`, `../`). */
  root: string;
  /** `grant`: credentials wait in the session; `form`: show the login form. */
  mode: 'form' | 'grant';
  /** Non-secret defaults for the form. */
  prefill: { host?: string; port?: number; username?: string };
  /** Whether a reload re-sends credentials (HTTP Basic), so "reconnect" can just reload. */
  reloadReconnects: boolean;
}

export const SOCKET_PATH_SUFFIX = 'socket.io';
