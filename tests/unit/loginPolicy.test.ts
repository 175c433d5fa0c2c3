import { describe, expect, it } from 'vitest';
import { formatWait, retryNotBefore } from '../../client/retryAfter.js';
import { AuthPlan } from '../../src/server/core/authPlan.js';
import { accountKey, settle, verdict } from '../../src/server/core/loginPolicy.js';

describe('failed-login policy', () => {
  it('admits up to the limit and refuses the next with the longest wait of the full counters', () => {
    expect(verdict([{ consumed: 3, limit: 3, msBeforeReset: 5000 }])).toEqual({ ok: true });
    expect(verdict([{ consumed: 4, limit: 3, msBeforeReset: 4001 }])).toEqual({ ok: false, retryAfterSeconds: 5 });
    expect(
      verdict([
        { consumed: 9, limit: 3, msBeforeReset: 2000 },
        { consumed: 1, limit: 5, msBeforeReset: 900_000 },
        { consumed: 6, limit: 5, msBeforeReset: 60_000 },
      ]),
    ).toEqual({ ok: false, retryAfterSeconds: 60 });
  });

  it('never says "retry in 0 s"', () => {
    expect(verdict([{ consumed: 2, limit: 1, msBeforeReset: 0 }])).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('a limit of 0 is no limit', () => {
    expect(verdict([{ consumed: 1000, limit: 0, msBeforeReset: 1000 }])).toEqual({ ok: true });
  });

  it('keeps the point only when the target rejected the credentials', () => {
    expect(settle('AUTH_FAILED')).toBe('keep');
    for (const code of ['DNS_FAILED', 'CONNECTION_REFUSED', 'TIMEOUT', 'HOST_KEY_REJECTED', 'KEY_INVALID', 'USER_CLOSED'] as const) expect(settle(code)).toBe('refund');
    expect(settle('connected')).toBe('refundAndClearAccount');
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
