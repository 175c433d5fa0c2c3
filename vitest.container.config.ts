import { defineConfig } from 'vitest/config';

// scripts/test-container.sh: checks against a running `docker compose` stack.
export default defineConfig({
  test: {
    include: ['tests/container/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    reporters: ['verbose'],
  },
});
