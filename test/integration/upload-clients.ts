/**
 * Real HTTP clients for upload tests, each in a process of its own as API clients are: Node's `fetch` (undici) and
 * curl. A client in the server's own process shares its event loop and hides the race a separate one runs into: a
 * reset arriving right behind an early answer, which makes Node's `fetch` fail with `EPIPE` instead of returning it.
 */
import { execFile, spawnSync } from 'node:child_process';

/** Whether curl can be spawned; tests that need it skip (and say so) without it. */
export const hasCurl = spawnSync('curl', ['--version']).status === 0;

if (!hasCurl) console.warn('\n[integration] SKIPPING curl tests: no `curl` on PATH.\n');

/**
 * What a client made of one upload: `"<status> <error code>"` (`"<status>"` when the body has no error code), or
 * what it failed with (`EPIPE`, `ECONNRESET`, curl's message).
 */
export type UploadOutcome = string;

/** The child's program: uploads a zero-filled file of `size` bytes once per header set, one after another. */
const FETCH_UPLOADS = `
const [url, size, headerSets] = [process.argv[1], Number(process.argv[2]), JSON.parse(process.argv[3])];
const outcomes = [];
for (const headers of headerSets) {
  const form = new FormData();
  form.append('profile_picture', new Blob([new Uint8Array(size)], { type: 'image/jpeg' }), 'photo.jpg');
  try {
    const response = await fetch(url, { method: 'POST', body: form, headers });
    const text = await response.text();
    let code;
    try { code = JSON.parse(text).error?.code; } catch {}
    outcomes.push(code ? response.status + ' ' + code : String(response.status));
  } catch (error) {
    outcomes.push(String(error.cause?.code ?? error.cause?.message ?? error.message));
  }
}
console.log(JSON.stringify(outcomes));
`;

/**
 * Uploads a `size`-byte file as the `profile_picture` field of a form with Node's `fetch`, in a child process, once
 * per entry of `headerSets`, one after another.
 */
export async function fetchUploads(url: string, size: number, headerSets: Array<Record<string, string>>): Promise<UploadOutcome[]> {
  const stdout = await run(process.execPath, ['--input-type=module', '-e', FETCH_UPLOADS, url, String(size), JSON.stringify(headerSets)]);
  return JSON.parse(stdout) as UploadOutcome[];
}

/**
 * Uploads `file` as the `profile_picture` field with `curl -F` (which sends `Expect: 100-continue` for a body this
 * size, as it does by default above 1 MiB).
 */
export async function curlUpload(url: string, file: string, headers: Record<string, string>): Promise<UploadOutcome> {
  const args = ['-sS', '-F', `profile_picture=@${file};type=image/jpeg`, '-w', '\n%{http_code}'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  try {
    const stdout = await run('curl', [...args, url]);
    const [body, status] = [stdout.slice(0, stdout.lastIndexOf('\n')), stdout.slice(stdout.lastIndexOf('\n') + 1)];
    let code: string | undefined;
    try {
      code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
    } catch {
      // not JSON: the status alone
    }
    return code ? `${status} ${code}` : status;
  } catch (error) {
    return (error as { stderr?: string }).stderr?.trim() || String(error);
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 1024 * 1024, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve(stdout);
    });
  });
}
