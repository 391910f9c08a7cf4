/**
 * A throwaway app folder for running the built `profile-picture` bin as a real process: `node_modules/profile-picture`
 * links to this repository, and `profile-picture.config.mjs` builds the service the way an app does — disk storage
 * under `media/` and the example's SQLite repository on `app.db` — so state persists across processes. The test
 * seeds it in-process with a service on the same folder and database file.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createProfilePictures,
  diskStorage,
  type ProfilePictures,
  type ProfilePicturesOptions,
  type StorageAdapter,
} from '../../src/index.js';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import { ROOT } from './consumer-project.js';

export const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Builds dist/ (with dist/cli.js) when a run of this file alone finds it missing. */
export async function ensureCliBuilt(): Promise<void> {
  if (!existsSync(CLI)) await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });
}

/**
 * The config module. `PP_FAIL_DELETES=1` makes every storage delete fail (a storage gone read-only), so a sweep fails
 * with `STORAGE_FAILED`; `PP_VARIANTS` (JSON) changes the configured variants, as an app's new sizes would;
 * `PP_HISTORY_KEEP` sets `history.keep`.
 */
export const CONFIG = `
import { createProfilePictures, diskStorage } from 'profile-picture';
import { openDatabase } from ${JSON.stringify(path.join(ROOT, 'examples/shared/database.js'))};
import { sqliteUserRepository } from ${JSON.stringify(path.join(ROOT, 'examples/shared/sqlite-users.js'))};

const disk = diskStorage({ root: new URL('./media', import.meta.url).pathname });
const storage = process.env.PP_FAIL_DELETES === '1'
  ? { ...disk, delete: async () => { throw new Error('read-only file system (injected)'); } }
  : disk;
const variants = process.env.PP_VARIANTS ? JSON.parse(process.env.PP_VARIANTS) : undefined;
const keep = process.env.PP_HISTORY_KEEP ? Number(process.env.PP_HISTORY_KEEP) : undefined;
export default createProfilePictures({
  storage,
  ...(variants && { variants }),
  ...(keep !== undefined && { history: { keep } }),
  users: sqliteUserRepository(openDatabase(new URL('./app.db', import.meta.url).pathname)),
  onOrphan: () => {},
});
`;

export interface CliApp {
  dir: string;
  /** A service on the same storage and database, for seeding and checking. */
  pictures: ProfilePictures;
  storage: StorageAdapter;
  /** Adds user rows (the SQLite repository only writes pictures of existing users). */
  addUsers(ids: readonly string[]): void;
  /** Every object under `profile_pictures/`, key → size, as the storage lists it. */
  stored(): Promise<Map<string, number>>;
  dispose(): Promise<void>;
}

/** `options` go to the seeding service (say `history`; the config module reads its own from the environment). */
export async function createCliApp(options: Partial<ProfilePicturesOptions> = {}): Promise<CliApp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pp-cli-'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(ROOT, path.join(dir, 'node_modules', 'profile-picture'), 'dir');
  await writeFile(path.join(dir, 'profile-picture.config.mjs'), CONFIG);
  const storage = diskStorage({ root: path.join(dir, 'media') });
  const db = openDatabase(path.join(dir, 'app.db'));
  const pictures = createProfilePictures({ storage, users: sqliteUserRepository(db), ...options });
  return {
    dir,
    pictures,
    storage,
    addUsers(ids) {
      const insert = db.prepare("INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'x', '', '')");
      for (const id of ids) insert.run(id, `user ${id}`);
    },
    async stored() {
      const found = new Map<string, number>();
      for await (const object of storage.list('profile_pictures/')) found.set(object.key, object.size);
      return found;
    },
    async dispose() {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` in `cwd` with pipes (stdout and stderr are not TTYs) and waits for its exit. */
export function runCli(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A CLI process on a pseudo-terminal (util-linux `script`): stdout and stderr are one TTY, as in a terminal. */
export interface TtyRun {
  /** Everything the terminal received so far (both streams, with the bar's redraws and `\r\n` line ends). */
  output(): string;
  /** Types into the terminal: `'\x03'` is Ctrl-C, which the terminal turns into SIGINT for the CLI. */
  type(text: string): void;
  /** Resolves once `pattern` appears in the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The CLI's exit code (`script -e` passes it on). */
  exited: Promise<number | null>;
}

/** Runs `node dist/cli.js ...args` in `cwd` on a pseudo-terminal of 120 columns. */
export function runCliInTty(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): TtyRun {
  const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
  const command = `stty cols 120 rows 40; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: { ...process.env, ...env, TERM: 'xterm-256color' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of waiters) check();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return {
    output: () => output,
    type: (text) => void child.stdin.write(text),
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in:\n${output}`));
        }, timeoutMs);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    exited,
  };
}
