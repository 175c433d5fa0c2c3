import { describe, expect, it } from 'vitest';
import { ERRORS, errorInfo, isErrorCode } from '../../src/shared/errors.js';
import { mapSshError } from '../../src/server/core/sshErrors.js';

const err = (props: Record<string, unknown>) => Object.assign(new Error(typeof props.message === 'string' ? props.message : ''), props);

describe('ssh error mapping', () => {
  it.each([
    [{ level: 'client-socket', code: 'ECONNREFUSED' }, 'CONNECTION_REFUSED'],
    [{ level: 'client-socket', code: 'EHOSTUNREACH' }, 'HOST_UNREACHABLE'],
    [{ level: 'client-socket' }, 'HOST_UNREACHABLE'],
    [{ level: 'client-timeout', message: 'Timed out while waiting for handshake' }, 'TIMEOUT'],
    [{ level: 'client-authentication', message: 'All configured authentication methods failed' }, 'AUTH_FAILED'],
    [{ level: 'handshake', message: 'Host denied (verification failed)' }, 'HOST_KEY_REJECTED'],
    [{ level: 'handshake', message: 'Handshake failed: no matching key exchange algorithm' }, 'ALGORITHM_MISMATCH'],
    [{ level: 'handshake', message: '' }, 'PROTOCOL_ERROR'],
    [{ level: 'protocol', message: '' }, 'PROTOCOL_ERROR'],
    [{ code: 'ECONNRESET' }, 'REMOTE_CLOSED'],
    [{ message: 'Cannot parse privateKey: Unsupported key format' }, 'KEY_INVALID'],
    [{ message: 'something else' }, 'INTERNAL'],
  ])('%o → %s', (props, code) => {
    expect(mapSshError(err(props))).toBe(code);
  });

  it('survives non-errors', () => {
    expect(mapSshError(undefined)).toBe('INTERNAL');
    expect(mapSshError('boom')).toBe('INTERNAL');
  });

  it('gives every code a message and a retry hint', () => {
    for (const code of Object.keys(ERRORS)) {
      expect(isErrorCode(code)).toBe(true);
      const info = errorInfo(code as keyof typeof ERRORS, 'detail');
      expect(info.message).toMatch(/\(detail\)$/);
      expect(typeof info.retryable).toBe('boolean');
    }
    expect(errorInfo('AUTH_FAILED').retryable).toBe(false);
    expect(errorInfo('TIMEOUT').retryable).toBe(true);
  });
});
