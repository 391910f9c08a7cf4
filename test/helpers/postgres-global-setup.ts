/**
 * vitest global setup of the `postgres` project (test files named `*postgres*.test.ts`): one PostgreSQL server for
 * the whole run, started before the first such file and stopped after the last. vitest runs it only when the run
 * includes one of those files. Test files reach it through `useTestDatabase()` (`postgres.ts`), which gives each
 * file a database of its own.
 */
import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin connection string of the run's PostgreSQL server (a superuser; database `postgres`). */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgresServer();
  project.provide('postgresUrl', server.url);
  if (server.source === 'embedded') process.stderr.write(`[postgres] embedded server ready in ${server.startMs} ms\n`);
  return () => server.stop();
}
