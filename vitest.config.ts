import { defineConfig } from 'vitest/config';

// Dawn is a native addon: run test files in child processes (forks), each with its own device.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global_setup.ts'],
  },
});
