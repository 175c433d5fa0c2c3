import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/server/config.js';

describe('config', () => {
  it('has working defaults and is frozen', () => {
    const c = parseConfig({});
    expect(c.port).toBe(2222);
    expect(c.basePath).toBe('/ssh');
    expect(c.ssh.term).toBe('xterm-256color');
    expect(c.sessionSecret).toBeUndefined();
    expect(c.targets.rules.map((r) => r.source)).toEqual(['*:22']);
    expect(Object.isFrozen(c) && Object.isFrozen(c.ssh)).toBe(true);
  });

  it('lists every problem at once', () => {
    let caught: unknown;
    try {
      parseConfig({ PORT: 'abc', BASE_PATH: 'ssh/', SESSION_SECRET: 'short', SSH_ALLOWED_TARGETS: '10.0.0.0/99', SSH_HOST_KEYS: 'h=md5:x', LOG_LEVEL: 'loud' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'BASE_PATH', 'SESSION_SECRET', 'SSH_ALLOWED_TARGETS', 'SSH_HOST_KEYS', 'LOG_LEVEL']) {
      expect(problems).toContain(name);
    }
  });

  it('lets the environment override the file', () => {
    const c = parseConfig({ PORT: '3000' }, { PORT: 4000, BASE_PATH: '/tools/ssh', ALLOWED_ORIGINS: 'https://a.example/x, https://b.example' });
    expect(c.port).toBe(3000);
    expect(c.basePath).toBe('/tools/ssh');
    expect(c.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('refuses to start without a shared secret when more than one process may serve a user', () => {
    expect(() => parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(ConfigError);
    expect(() => parseConfig({ NODE_APP_INSTANCE: '1' })).toThrow(/SESSION_SECRET/);
    expect(parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379', SESSION_SECRET: 'x'.repeat(32) }).redisUrl).toBe('redis://127.0.0.1:6379');
  });

  it('reads ALLOWED_HOSTS as lower-case names, name:port or IPs, and refuses URLs', () => {
    expect(parseConfig({}).allowedHosts).toEqual([]);
    expect(parseConfig({ ALLOWED_HOSTS: 'SSH.Example.com, ssh.example.com.:443,10.0.0.5,[::1]:2222' }).allowedHosts).toEqual([
      'ssh.example.com',
      'ssh.example.com:443',
      '10.0.0.5',
      '[::1]:2222',
    ]);
    expect(() => parseConfig({ ALLOWED_HOSTS: 'https://ssh.example.com' })).toThrow(/ALLOWED_HOSTS/);
  });

  it('parses trust proxy forms', () => {
    expect(parseConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(parseConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(parseConfig({}).trustProxy).toBe(false);
  });
});
