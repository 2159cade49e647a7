import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/harness/azurite-global-setup.ts'],
    setupFiles: ['./test/harness/fake-functions-core.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/harness/plain-summary-reporter.ts'],
  },
});
