/**
 * `profile-picture regenerate` as a real process after the app's variants changed: on a pseudo-terminal (a bar
 * with ETA, Ctrl-C stops it after the user in progress, exit 130) and then piped (plain progress lines on stderr,
 * JSON result on stdout), the rerun finishing exactly the users the first run left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliApp, ensureCliBuilt, runCli, runCliInTty, type CliApp } from '../helpers/cli-app.js';
import { distinctImages } from '../helpers/images.js';

const USERS = Array.from({ length: 40 }, (_, i) => `u${String(i).padStart(2, '0')}`);
const NEW_VARIANTS = { sm: 48, md: 200, lg: 400 };
const env = { PP_VARIANTS: JSON.stringify(NEW_VARIANTS) };

let app: CliApp;

beforeAll(async () => {
  await ensureCliBuilt();
  app = await createCliApp();
  app.addUsers(USERS);
  const images = await distinctImages(USERS.length, 480);
  for (const [i, userId] of USERS.entries()) await app.pictures.upload(userId, images[i]!);
}, 180_000);
afterAll(() => app?.dispose());

/** Users whose record has exactly the new variants at their new sizes. */
async function upToDate(): Promise<string[]> {
  const done: string[] = [];
  for (const userId of USERS) {
    const record = (await app.pictures.get(userId))!;
    const widths = Object.fromEntries(Object.entries(record.variants).map(([name, variant]) => [name, variant.width]));
    if (JSON.stringify(widths) === JSON.stringify(NEW_VARIANTS)) done.push(userId);
  }
  return done;
}

describe('profile-picture regenerate', () => {
  let firstRun = 0;

  it('on a terminal: a bar with ETA; Ctrl-C stops after the user in progress and exits 130', async () => {
    const tty = runCliInTty(app.dir, ['regenerate', '--concurrency', '1'], env);
    await tty.waitFor(/regenerate .*\| [1-9]\d*\/40 \| ETA \d+s \| /);
    tty.type('\x03');
    expect(await tty.exited).toBe(130);
    const output = tty.output();
    expect(output).toContain('stopping after the work in progress… (Ctrl-C again to quit at once)');
    const summary = /stopped by Ctrl-C after (\d+) users?: (\d+) regenerated, 0 skipped \(already up to date or changed meanwhile\), 0 failed\r\nrun it again to continue where it stopped\r\n$/.exec(output);
    expect(summary, output).not.toBeNull();
    firstRun = Number(summary![2]);
    expect(firstRun).toBeGreaterThan(0);
    expect(firstRun).toBeLessThan(USERS.length);
    expect((await upToDate()).length).toBe(firstRun);
  });

  it('piped, the rerun continues: exactly the users left, plain progress on stderr, the result as JSON', async () => {
    const run = await runCli(app.dir, ['regenerate', '--json'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      scanned: USERS.length,
      regenerated: USERS.length - firstRun,
      skipped: firstRun,
      failed: [],
      aborted: false,
    });
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^regenerate 40/40 \\(100%\\) ${USERS.length - firstRun} regenerated, ${firstRun} skipped, 0 failed \\(last: u\\d\\d\\)$`));
    expect(run.stderr).not.toContain('\u001b'); // no escape sequences off a terminal
    expect(await upToDate()).toEqual(USERS);
  });

  it('on a terminal, nothing left to do: the bar ends at 100% and the summary line follows', async () => {
    const tty = runCliInTty(app.dir, ['regenerate'], env);
    expect(await tty.exited).toBe(0);
    expect(tty.output()).toMatch(/regenerate \S+ 100% \| 40\/40 \| ETA 0s \| 0 regenerated, 40 skipped, 0 failed/);
    expect(tty.output()).toMatch(/looked at 40 users: 0 regenerated, 40 skipped \(already up to date or changed meanwhile\), 0 failed\r\n$/);
  });

  it('exit 1 when some users fail, listing them; the others are regenerated', async () => {
    // u05's objects are gone from storage (its master and every variant): nothing to render from.
    const record = (await app.pictures.get('u05'))!;
    const keys = [...(await app.stored()).keys()].filter((key) => key.startsWith('profile_pictures/u05/'));
    expect(keys.length).toBeGreaterThanOrEqual(Object.keys(record.variants).length);
    for (const key of keys) await app.storage.delete(key);
    const changed = { PP_VARIANTS: JSON.stringify({ sm: 32, md: 128 }) };
    const plain = await runCli(app.dir, ['regenerate', '--concurrency', '4'], changed);
    expect(plain.code).toBe(1);
    const [failure, summary, ...rest] = plain.stdout.split('\n');
    expect(failure).toMatch(/^failed {2}u05 {2}[A-Z_]+$/);
    expect(summary).toBe('looked at 40 users: 39 regenerated, 0 skipped (already up to date or changed meanwhile), 1 failed');
    expect(rest).toEqual(['']);
    // --json: the same outcome, and a rerun retries only the failed user.
    const json = await runCli(app.dir, ['regenerate', '--json'], changed);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      scanned: 40,
      regenerated: 0,
      skipped: 39,
      failed: [{ userId: 'u05', code: failure!.split('  ')[2] }],
      aborted: false,
    });
  });

  it('--concurrency must be a positive integer: exit 2', async () => {
    const run = await runCli(app.dir, ['regenerate', '--concurrency', '0'], env);
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'profile-picture: --concurrency expects a positive integer, not "0" (see `profile-picture regenerate --help`)\n',
    });
  });
});
