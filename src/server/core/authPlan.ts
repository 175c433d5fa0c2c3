/**
 * Which SSH authentication method to try next, so that one typed password costs the
 * target one failed attempt. Pure: ssh2's `authHandler` asks it after each failure.
 *
 * Order: none, publickey, keyboard-interactive, password (OpenSSH's own; password before
 * keyboard-interactive breaks PAM 2FA servers, see docs/architecture.md). When the
 * keyboard-interactive round was answered with the typed password and failed, the
 * `password` method would send the same password again: a second `Failed password` in
 * sshd's log, so fail2ban and MaxAuthTries counted each typo twice against the gateway's
 * address (issue 12, finding 5). It is skipped then.
 */
export type AuthMethod = 'none' | 'publickey' | 'keyboard-interactive' | 'password';

export interface AuthCredentials {
  hasKey: boolean;
  hasPassword: boolean;
}

const ORDER: readonly AuthMethod[] = ['publickey', 'keyboard-interactive', 'password'];

export class AuthPlan {
  readonly #creds: AuthCredentials;
  #tried = new Set<AuthMethod>();
  #passwordSent = false;
  #last: AuthMethod | undefined;

  constructor(creds: AuthCredentials) {
    this.#creds = creds;
  }

  /** The typed password went to the server (a keyboard-interactive answer). */
  passwordSent(): void {
    this.#passwordSent = true;
  }

  /**
   * `methodsLeft`: what the server said it accepts (null before the first answer);
   * `partial`: the last method succeeded but more are required. False: nothing left.
   */
  next(methodsLeft: readonly string[] | null, partial: boolean | null): AuthMethod | false {
    if (methodsLeft === null) return this.#take('none');
    if (partial) {
      // The previous step was accepted, password included: the next step starts afresh.
      this.#tried.clear();
      this.#passwordSent = false;
    }
    const method = ORDER.find((m) => !this.#tried.has(m) && methodsLeft.includes(m) && this.#usable(m));
    return method ? this.#take(method) : false;
  }

  #usable(method: AuthMethod): boolean {
    switch (method) {
      case 'publickey':
        return this.#creds.hasKey;
      case 'password':
        return this.#creds.hasPassword && !this.#passwordSent;
      default:
        // Without a typed password the page can still answer the server's prompts.
        return true;
    }
  }

  /** The method tried last: the one that completed the login, once the server accepts. */
  get last(): AuthMethod | undefined {
    return this.#last;
  }

  #take(method: AuthMethod): AuthMethod {
    this.#last = method;
    this.#tried.add(method);
    if (method === 'password') this.#passwordSent = true;
    return method;
  }
}
