/**
 * The terminal sessions this process runs, so shutdown (and operators) can reach them.
 */
import { EventEmitter } from 'node:events';
import type { ErrorCode } from '../../shared/errors.js';
import type { SshSession } from '../ssh/sshSession.js';

/** Emits `change` after every add or delete. */
export class SessionRegistry extends EventEmitter<{ change: [] }> {
  readonly #sessions = new Set<SshSession>();

  add(session: SshSession): void {
    this.#sessions.add(session);
    this.emit('change');
  }

  delete(session: SshSession): void {
    if (this.#sessions.delete(session)) this.emit('change');
  }

  get size(): number {
    return this.#sessions.size;
  }

  list(): SshSession[] {
    return [...this.#sessions];
  }

  endAll(code: ErrorCode): void {
    for (const s of this.#sessions) s.end(code);
  }
}
