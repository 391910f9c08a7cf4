/**
 * Starts `s3rver-server.mjs` — an s3rver (an S3-protocol server storing files on disk) in its own Node process on
 * 127.0.0.1 — for tests of `s3Storage()` against a real HTTP endpoint. A child process because s3rver needs
 * `--openssl-legacy-provider` on Node ≥ 17 (see the script), a flag vitest's own workers must not run with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./s3rver-server.mjs', import.meta.url));

/** A running s3rver: where it listens and the client settings that reach it. */
export interface S3rverProcess {
  endpoint: string;
  /** s3rver's fixed credentials and region. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** Everything it printed. */
  output(): string;
  /** Kills it and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver with `buckets` already created and resolves once it listens.
 * @throws Error when the process does not start within 20 s.
 */
export async function startS3rver(buckets: string[]): Promise<S3rverProcess> {
  const directory = await mkdtemp(path.join(tmpdir(), 'pp-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', SERVER], {
    env: { ...process.env, PP_S3RVER_CONFIG: JSON.stringify({ directory, buckets }) },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin: the child exits when it closes, i.e. when this process ends
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exit;
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const port = await firstPort(child, AbortSignal.timeout(20_000));
    return {
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      region: 'us-east-1',
      output: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`s3rver did not start: ${(err as Error).message}\n${output}`);
  }
}

// --- internal ---

/** The port in the child's `listening <port>` line; rejects when it exits first or `signal` aborts. */
async function firstPort(child: ChildProcess, signal: AbortSignal): Promise<number> {
  for await (const line of createInterface({ input: child.stdout!, signal })) {
    const match = /^listening (\d+)$/.exec(line);
    if (match) return Number(match[1]);
  }
  throw new Error('it exited');
}
