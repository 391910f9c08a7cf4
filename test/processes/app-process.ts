/**
 * Starts `app-server.mjs` — an app on the built package in its own Node process — and talks to it. For tests that
 * need what only a separate process shows: its peak memory, whether it survived, several instances at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../integration/adapter-suite.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = fileURLToPath(new URL('./app-server.mjs', import.meta.url));

/** Where an app process keeps pictures. */
export type AppStorageConfig =
  | { kind: 'disk'; root: string }
  | {
      kind: 's3';
      endpoint: string;
      bucket: string;
      keyPrefix?: string;
      region: string;
      credentials: { accessKeyId: string; secretAccessKey: string };
    };

/** Where an app process keeps records: SQLite (the example's repository) and PostgreSQL can be shared. */
export type AppUsersConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; table?: string };

/** What `app-server.mjs` is told to run. */
export interface AppProcessConfig {
  adapter: 'express' | 'koa';
  storage: AppStorageConfig;
  /** @default { kind: 'memory' } */
  users?: AppUsersConfig;
  /** Extra `createProfilePictures()` options (JSON-serialisable). */
  service?: Record<string, unknown>;
  /** Puts of keys matching `match` (a regular expression's source) wait until the file `until` exists. */
  holdPuts?: { match: string; until: string };
}

/** Memory figures of the server process, in bytes. */
export interface ProcessFigures {
  /** Peak resident set size over the process's whole life. */
  maxRssBytes: number;
  rss: number;
}

/** A running app process. */
export interface AppProcess {
  port: number;
  /** Exit code or signal once it has exited, else null. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  figures(): Promise<ProcessFigures>;
  /** Everything it printed. */
  output(): string;
  /** Kills it at once (SIGKILL), as a crash would, and waits for it to be gone. */
  stop(): Promise<void>;
}

/**
 * Starts an app process and resolves once it listens.
 * @throws Error when `dist/` is missing (`npm test` builds first) or the process does not start within 20 s.
 */
export async function startAppProcess(config: AppProcessConfig): Promise<AppProcess> {
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('run `npm run build` first: the app process loads dist/');
  const child: ChildProcess = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    env: { ...process.env, PP_APP_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app process did not start within 20 s:\n${output}`)), 20_000);
    const check = () => {
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      } else if (exit) {
        clearTimeout(timer);
        reject(new Error(`the app process exited (${JSON.stringify(exit)}):\n${output}`));
      }
    };
    child.stdout!.on('data', check);
    void exited.then(check);
  });
  return {
    port,
    exited: () => exit,
    async figures() {
      const response = await request(port, '/__process');
      return response.json as ProcessFigures;
    },
    output: () => output,
    async stop() {
      if (!exit) child.kill('SIGKILL');
      await exited;
    },
  };
}
