/**
 * Egress defaults: the `*:22` default must not let a user reach the cloud metadata
 * service (credentials for the gateway's own role) or other link-local services
 * through a name that resolves there. Only a rule naming such an address allows it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorInfo } from '../../src/shared/errors.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { TerminalClient } from '../harness/terminalClient.js';

const open: { close(): unknown }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A gateway whose resolver says every name is the metadata address. */
async function gatewayWith(rules: string): Promise<TestGateway> {
  const g = await startGateway({ SSH_ALLOWED_TARGETS: rules, SSH_READY_TIMEOUT_MS: '1000' }, { lookup: () => Promise.resolve('169.254.169.254') });
  open.push(g);
  return g;
}

async function endOf(g: TestGateway, host: string): Promise<ErrorInfo> {
  const c = new TerminalClient(g.url);
  open.push(c);
  c.start({ host, port: 22, username: 'u', password: 'p' });
  return c.waitForEnd();
}

describe('metadata and link-local targets', () => {
  it('the default *:22 refuses a name that resolves to 169.254.169.254', async () => {
    const g = await gatewayWith('*:22');
    expect(await endOf(g, 'metadata.test')).toMatchObject({ code: 'TARGET_NOT_ALLOWED', retryable: false });
  });
  // A rule naming the address or the name lets it through: tests/unit/targetPolicy.test.ts.
  // Not here: past the policy the gateway would really connect to 169.254.169.254, and
  // tests reach nothing beyond loopback.
});
