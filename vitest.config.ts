import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/** Test files that need PostgreSQL: the `postgres` project, whose global setup starts one server per run. */
const POSTGRES_TESTS = 'test/**/*postgres*.test.ts';
const source = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  // Our tests take the conformance suites from the published entry's name, run from the sources: a change to a suite
  // is tested without a rebuild, as the storages and repositories it runs against are (test/integration/package.test.ts
  // runs the built entry under vitest in a consumer project).
  resolve: { alias: [{ find: /^profile-picture\/testing$/, replacement: source('src/testing/index.ts') }] },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Image work is CPU-bound and the CI machine has 2 cores: more workers only add contention.
    maxWorkers: 2,
    // @aws-sdk/* warn on every client construction that Node 20 support ends in 2027 (FACTS.md): not news in tests.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'core', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, POSTGRES_TESTS] },
      },
      {
        extends: true,
        // The README recipes import the package by name: run them on the sources, as tsconfig's `paths` type-check them.
        resolve: {
          alias: [
            { find: /^profile-picture$/, replacement: source('src/index.ts') },
            { find: /^profile-picture\/postgres$/, replacement: source('src/users/postgres.ts') },
          ],
        },
        // vitest runs a project's global setup only when the run includes one of its files.
        test: { name: 'postgres', include: [POSTGRES_TESTS], globalSetup: ['test/helpers/postgres-global-setup.ts'] },
      },
    ],
  },
});
