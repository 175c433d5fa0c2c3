import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/container/**', 'node_modules/**'],
    // Integration and e2e tests start real sshd/Chromium processes: keep the 2 cores calm.
    fileParallelism: false,
    globalSetup: ['tests/harness/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
