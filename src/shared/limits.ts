/**
 * Limits shared by server and client. The server enforces them; the client uses the
 * same numbers so it never sends what the server would reject.
 */
export const LIMITS = {
  /** Terminal geometry accepted from a client; larger values are clamped, not trusted. */
  maxCols: 1000,
  maxRows: 1000,
  /** One `input` message (a paste is split by the client if larger). */
  maxInputBytes: 64 * 1024,
  /** Private keys in OpenSSH/PEM form; an 16384-bit RSA key is ~12 KiB. */
  maxPrivateKeyChars: 32 * 1024,
  maxFieldChars: 1024,
  maxHostChars: 253,
  maxKbdAnswers: 32,
  /** Largest Socket.IO message accepted at all (engine.io maxHttpBufferSize). */
  maxMessageBytes: 256 * 1024,
} as const;

/**
 * Render-ack flow control (see docs/architecture.md, "Flow control").
 * The client acks bytes from inside xterm's write callback. The server grants the remote
 * SSH window only as acks arrive, so window + unacked output stays within `outputBudget`.
 */
export const FLOW = {
  outputBudget: 512 * 1024,
  /** Smallest window top-up the server sends: one full SSH data packet. */
  minWindowGrant: 32 * 1024,
  /** The client acks once this many rendered bytes accumulate... */
  ackEveryBytes: 64 * 1024,
  /**
   * ...or after this long with fewer, so small outputs are acked too. Nothing waits on
   * those acks: with less than `ackEveryBytes` unacked, the window still has room for
   * 448 KiB, and the replay buffer keeps a screen's worth anyway. At 50 ms every line
   * of an idle session and every echo cost the page, NGINX and the gateway one more
   * message (docs/architecture.md, "Flow control").
   */
  ackFlushMs: 5000,
} as const;
