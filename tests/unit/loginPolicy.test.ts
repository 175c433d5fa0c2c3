import { describe, expect, it } from 'vitest';
import { formatWait, retryNotBefore } from '../../client/retryAfter.js';
import { AuthPlan } from '../../src/server/core/authPlan.js';
import { accountKey, settle, verdict } from '../../src/server/core/loginPolicy.js';

describe('failed-login policy', () => {
  const at = (failures: number, position: number, limit = 3, msBeforeReset = 5000) => ({ failures, position, limit, msBeforeReset });

  it('lets an attempt out while the failures so far plus the attempts ahead of it fit under the limit', () => {
    expect(verdict([at(0, 1)])).toEqual({ kind: 'admit' });
    expect(verdict([at(2, 1)])).toEqual({ kind: 'admit' });
    expect(verdict([at(0, 3)])).toEqual({ kind: 'admit' });
  });

  it('makes the attempt wait (not refuses it) while the attempts ahead could still fill the limit', () => {
    expect(verdict([at(0, 4)])).toEqual({ kind: 'wait' });
    expect(verdict([at(2, 2)])).toEqual({ kind: 'wait' });
    expect(verdict([at(0, 1, 100), at(1, 3, 3)])).toEqual({ kind: 'wait' });
  });

  it('refuses once the failures fill a limit, with the longest wait of the full counters', () => {
    expect(verdict([at(3, 1, 3, 4001)])).toEqual({ kind: 'refuse', retryAfterSeconds: 5 });
    expect(verdict([at(9, 1, 3, 2000), at(1, 1, 5, 900_000), at(5, 1, 5, 60_000)])).toEqual({ kind: 'refuse', retryAfterSeconds: 60 });
  });

  it('never says "retry in 0 s"', () => {
    expect(verdict([at(2, 1, 1, 0)])).toEqual({ kind: 'refuse', retryAfterSeconds: 1 });
  });

  it('a limit of 0 is no limit', () => {
    expect(verdict([at(1000, 1000, 0)])).toEqual({ kind: 'admit' });
  });

  it('counts a failure only when the target rejected the credentials', () => {
    expect(settle('AUTH_FAILED')).toBe('fail');
    for (const code of ['DNS_FAILED', 'CONNECTION_REFUSED', 'TIMEOUT', 'HOST_KEY_REJECTED', 'KEY_INVALID', 'USER_CLOSED'] as const) expect(settle(code)).toBe('none');
    expect(settle('connected')).toBe('clearAccount');
  });

  it('names accounts by a hash that holds no user or host name', () => {
    const key = accountKey({ username: 'alice', host: 'db.example.org', port: 22 });
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(key).not.toMatch(/alice|example/);
    expect(accountKey({ username: 'Alice', host: 'DB.example.org', port: 22 })).toBe(key);
    expect(accountKey({ username: 'alice', host: 'db.example.org', port: 2222 })).not.toBe(key);
  });
});

describe('authentication plan: one typed password, one attempt', () => {
  const all = ['publickey', 'keyboard-interactive', 'password'];

  it('probes with none, then keyboard-interactive, and skips password once the prompt was answered with it', () => {
    const plan = new AuthPlan({ hasKey: false, hasPassword: true });
    expect(plan.next(null, null)).toBe('none');
    expect(plan.next(all, false)).toBe('keyboard-interactive');
    plan.passwordSent();
    expect(plan.next(all, false)).toBe(false);
  });

  it('uses password when keyboard-interactive never asked for it, or is not offered', () => {
    const asked = new AuthPlan({ hasKey: false, hasPassword: true });
    asked.next(null, null);
    expect(asked.next(all, false)).toBe('keyboard-interactive');
    expect(asked.next(all, false)).toBe('password');
    expect(asked.next(all, false)).toBe(false);
    const only = new AuthPlan({ hasKey: false, hasPassword: true });
    only.next(null, null);
    expect(only.next(['publickey', 'password'], false)).toBe('password');
    expect(only.next(['publickey', 'password'], false)).toBe(false);
  });

  it('tries a key first, and after a partial success may use the password again', () => {
    const plan = new AuthPlan({ hasKey: true, hasPassword: true });
    plan.next(null, null);
    expect(plan.next(all, false)).toBe('publickey');
    expect(plan.next(['password'], true)).toBe('password');
    expect(plan.next(['keyboard-interactive'], true)).toBe('keyboard-interactive');
  });

  it('without a password, keyboard-interactive stays (the page answers) and password never comes', () => {
    const plan = new AuthPlan({ hasKey: false, hasPassword: false });
    plan.next(null, null);
    expect(plan.next(all, false)).toBe('keyboard-interactive');
    expect(plan.next(all, false)).toBe(false);
  });
});

describe('the page waits as long as RATE_LIMITED says', () => {
  it('computes when a retry may start and says how long is left', () => {
    expect(retryNotBefore(undefined, 1000)).toBeUndefined();
    expect(retryNotBefore(0, 1000)).toBeUndefined();
    expect(retryNotBefore(2.2, 1000)).toBe(4000);
    expect(formatWait(46_000, 1000)).toBe('45 s');
    expect(formatWait(1000 + 185_000, 1000)).toBe('3 min 5 s');
    expect(formatWait(1000 + 120_000, 1000)).toBe('2 min');
    expect(formatWait(0, 1000)).toBe('0 s');
  });
});
