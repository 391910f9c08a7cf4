/**
 * A local S3 server for the S3-vs-disk row: the same s3rver process the tests use (test/processes/s3rver-server.mjs,
 * with `--openssl-legacy-provider`, storing its objects on disk under `directory`), as one of the bench's children
 * so its CPU time counts as the bench's own and it dies with the bench.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trackChild } from './children.mjs';

const SERVER = fileURLToPath(new URL('../../test/processes/s3rver-server.mjs', import.meta.url));
const START_TIMEOUT = 20_000;

/**
 * Starts s3rver with `bucket` created and resolves once it listens.
 * @param {{ directory: string, bucket: string }} options
 * @returns {Promise<{ endpoint: string, bucket: string, pid: number }>}
 * @throws Error when it does not listen within 20 s
 */
export async function startS3rver({ directory, bucket }) {
  const child = trackChild(
    spawn(process.execPath, ['--openssl-legacy-provider', SERVER], {
      env: { ...process.env, PP_S3RVER_CONFIG: JSON.stringify({ directory, buckets: [bucket] }) },
      stdio: ['pipe', 'pipe', 'pipe'], // stdin held open: s3rver-server.mjs exits when it closes
    }),
  );
  let output = '';
  child.stderr.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  const lines = createInterface({ input: child.stdout, signal: AbortSignal.timeout(START_TIMEOUT) });
  try {
    for await (const line of lines) {
      const match = /^listening (\d+)$/.exec(line);
      if (match) return { endpoint: `http://127.0.0.1:${match[1]}`, bucket, pid: child.pid };
    }
    throw new Error('it exited');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`s3rver did not start: ${err.message}\n${output}`);
  } finally {
    lines.close();
    child.stdout.resume(); // keep draining what it prints, so it never blocks on a full pipe
  }
}
