import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Image work is CPU-bound and the CI machine has 2 cores: more workers only add contention.
    maxWorkers: 2,
    // @aws-sdk/* warn on every client construction that Node 20 support ends in 2027 (FACTS.md): not news in tests.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
