/**
 * Runs an example app (`examples/<name>/server.js`) as its own Node process, exactly as `npm run example` does,
 * on a free port with throwaway data and media directories: on SQLite and local disk, or on the engines its `env`
 * names (`DATABASE_URL`, `S3_*`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILT = ['index.js', 'express.js', 'koa.js', 's3.js', 'postgres.js', 'client.js'].map((file) => join(ROOT, 'dist', file));

/** A running example. */
export interface RunningExample {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Where pictures are stored (on the default engines). */
  mediaDir: string;
  /** Everything the server printed so far. */
  output(): string;
  /** Every stored file under the media directory, relative to it, sorted (on the default engines). */
  storedFiles(): Promise<string[]>;
  /** The `users` row of `username` (picture column parsed) in the SQLite database (on the default engines). */
  userRow(username: string): { id: string; picture: { version: string; variants: Record<string, { key: string; width: number }>; master?: { key: string } } | null } | undefined;
  /** Stops the server and deletes its directories. */
  stop(): Promise<void>;
}

/**
 * Variables that choose the example's engines and settings: never inherited from the test's own environment (CI sets
 * S3_*); a test passes them in `env`.
 */
const ENGINE_VARIABLES = /^(DATABASE_URL|S3_.*|PROFILE_PICTURE_.*|ADMIN_USERS|TRUST_PROXY)$/;

/**
 * Starts `examples/<name>/server.js`, with `env` added to its environment (e.g. `DATABASE_URL` and `S3_*`, or
 * `PROFILE_PICTURE_ANIMATED: '1'`). With `options.dir`, its data and media live there and outlive `stop()`, so a
 * test can restart the app on the same data with other settings (the caller deletes the directory).
 * @throws Error when the package is not built (the examples import it by name from `dist/`) or the app fails to start.
 */
export async function startExample(
  name: 'express-app' | 'koa-app',
  env: Record<string, string> = {},
  options: { dir?: string } = {},
): Promise<RunningExample> {
  const missing = BUILT.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(`The examples run the built package; run \`npm run build\` first (missing ${missing.join(', ')})`);
  }
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), `pp-e2e-${name}-`)));
  const removeDir = () => (options.dir ? Promise.resolve() : rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const mediaDir = join(dir, 'media');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !ENGINE_VARIABLES.test(key)));
  const child = spawn(process.execPath, [join(ROOT, 'examples', name, 'server.js')], {
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, MEDIA_DIR: mediaDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s:\n${output}`)), 20_000);
    const check = () => {
      const match = /running at http:\/\/[^:/]+:(\d+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await removeDir();
    throw err;
  });

  let db: Database.Database | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    mediaDir,
    output: () => output,
    async storedFiles() {
      if (!existsSync(mediaDir)) return [];
      const entries = await readdir(mediaDir, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(mediaDir, join(entry.parentPath, entry.name)))
        .sort();
    },
    userRow(username) {
      db ??= new Database(join(dataDir, 'app.db'), { readonly: true, fileMustExist: true });
      const row = db.prepare('SELECT id, picture FROM users WHERE username = ?').get(username) as
        | { id: string; picture: string | null }
        | undefined;
      return row && { id: row.id, picture: row.picture ? JSON.parse(row.picture) : null };
    },
    async stop() {
      db?.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      await removeDir();
    },
  };
}
