/**
 * `npm run stack`: Redis + PM2 cluster + NGINX from this checkout, until Ctrl-C.
 * Settings: STACK_HTTP_PORT (8080), STACK_HTTPS_PORT (8443), GATEWAY_INSTANCES (2),
 * PORT (first worker port, default: free ones), and any gateway variable
 * (SSH_ALLOWED_TARGETS, …) passed through to the workers.
 */
import { startStack } from '../stack.js';

const num = (v: string | undefined) => (v ? Number(v) : undefined);

const stack = await startStack({
  instances: num(process.env.GATEWAY_INSTANCES) ?? 2,
  httpPort: num(process.env.STACK_HTTP_PORT) ?? 8080,
  httpsPort: num(process.env.STACK_HTTPS_PORT) ?? 8443,
  ...(process.env.PORT && { basePort: Number(process.env.PORT) }),
});
process.stdout.write(
  [
    '',
    `WebSSH stack is up (${stack.workerPorts.length} workers on ports ${stack.workerPorts.join(', ')}).`,
    `  open        ${stack.url}/ssh/   (TLS, self-signed: ${stack.httpsUrl}/ssh/)`,
    `  admin       curl -H 'Authorization: Bearer ${stack.adminToken}' ${stack.url}/ssh/admin/sessions`,
    ...(process.env.METRICS_TOKEN ? [`  metrics     curl -H 'Authorization: Bearer ${process.env.METRICS_TOKEN}' ${stack.url}/ssh/metrics`] : []),
    `  pm2         PM2_HOME=${stack.pm2.home} npx pm2 ls`,
    `  redis       ${stack.redis.url}`,
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
// Whoever reads our output may be gone before we stop (a pipe whose reader exited, a
// killed test run): a write must not crash us with EPIPE and leave PM2, Redis and NGINX
// behind.
for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('stopping…\n');
  void stack.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
