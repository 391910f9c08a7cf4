/**
 * `profile-picture history` and `restore` as real processes (`node dist/cli.js`) on an app folder (disk storage,
 * SQLite), with `history: { keep: 2 }` in the config module: what they print (plain and `--json`) is checked against
 * the records and the objects on disk, and a restore made by one process is what the next one sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PictureRecord, PreviousPicture } from '../../src/index.js';
import { createCliApp, ensureCliBuilt, runCli, type CliApp } from '../helpers/cli-app.js';
import { distinctImages } from '../helpers/images.js';

const env = { PP_HISTORY_KEEP: '2' };
let app: CliApp;
/** ada's three uploads, oldest first: history is [second, first]. */
let uploads: PictureRecord[];

beforeAll(async () => {
  await ensureCliBuilt();
  app = await createCliApp({ history: { keep: 2 } });
  app.addUsers(['ada', 'bob']);
  uploads = [];
  for (const image of await distinctImages(3, 64)) uploads.push(await app.pictures.upload('ada', image));
  await app.pictures.flush();
}, 180_000);
afterAll(() => app?.dispose());

const url = (record: Pick<PictureRecord, 'variants'>, name: string) => `/media/${record.variants[name]!.key}`;

describe('profile-picture history', () => {
  it('--json: the previous pictures, newest first, each with its URLs', async () => {
    const run = await runCli(app.dir, ['history', 'ada', '--json'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const entries = JSON.parse(run.stdout) as Array<PreviousPicture & { urls: Record<string, string> }>;
    const [first, second] = uploads;
    expect(entries.map((entry) => entry.version)).toEqual([second!.version, first!.version]);
    expect(entries[0]).toMatchObject({ variants: second!.variants, updatedAt: second!.updatedAt, createdAt: first!.createdAt });
    expect(entries[1]!.urls).toEqual({ sm: url(first!, 'sm'), md: url(first!, 'md'), lg: url(first!, 'lg') });
    expect(entries.map(({ urls: _urls, ...entry }) => entry)).toEqual(JSON.parse(JSON.stringify(await app.pictures.history('ada'))));
  });

  it('plain: one line per picture with its dates, then its URLs; a user without history says so', async () => {
    const run = await runCli(app.dir, ['history', 'ada'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const previous = await app.pictures.history('ada');
    expect(run.stdout).toBe(
      previous
        .map((entry) => `${entry.version}  uploaded ${entry.updatedAt}  replaced ${entry.replacedAt}\n` +
          ['sm', 'md', 'lg'].map((name) => `  ${name}  ${url(entry, name)}\n`).join(''))
        .join(''),
    );
    expect(await runCli(app.dir, ['history', 'bob'], env)).toEqual({ code: 0, stderr: '', stdout: 'user bob: no previous pictures\n' });
  });
});

describe('profile-picture stats with previous pictures', () => {
  it('counts their objects under history, apart from the current pictures, and prints the line', async () => {
    const stored = await app.stored();
    const [first, second, third] = uploads;
    // Each previous picture's three variants and its master (stored by default).
    const keys = [first!, second!].flatMap((record) => [...Object.values(record.variants), record.master!].map((object) => object.key));
    const run = await runCli(app.dir, ['stats', '--json'], env);
    expect(run).toMatchObject({ code: 0, stderr: expect.stringMatching(/^stats: listed \d+ objects\nstats: read \d+ records\n$/) });
    const stats = JSON.parse(run.stdout) as { history: unknown; variants: Record<string, { objects: number }>; orphans: unknown };
    expect(stats.history).toEqual({ objects: 8, bytes: keys.reduce((sum, key) => sum + stored.get(key)!, 0) });
    expect(stats.variants.md).toEqual({ objects: 1, bytes: stored.get(third!.variants.md!.key) });
    expect(stats.orphans).toEqual({ objects: 0, bytes: 0 });
    const plain = await runCli(app.dir, ['stats'], env);
    expect(plain.stdout).toMatch(/\n {2}history {13}8 objects, \d+(\.\d)? kB\n/);
  });
});

describe('profile-picture restore', () => {
  it('makes the previous picture current: the record, the history and storage as expected; the next process sees it', async () => {
    const [first, second, third] = uploads;
    const before = await app.stored();
    const run = await runCli(app.dir, ['restore', 'ada', first!.version, '--json'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const record = JSON.parse(run.stdout) as PictureRecord;
    expect(record).toEqual(await app.pictures.get('ada'));
    expect(record.variants).toEqual(first!.variants);
    expect(record.history!.map((entry) => entry.version)).toEqual([third!.version, second!.version]);
    expect(await app.stored()).toEqual(before); // no object written or deleted

    const listed = JSON.parse((await runCli(app.dir, ['history', 'ada', '--json'], env)).stdout) as PreviousPicture[];
    expect(listed.map((entry) => entry.version)).toEqual([third!.version, second!.version]);

    // Plain: the new version and URLs. Restoring the second prunes nothing with keep 2.
    const plain = await runCli(app.dir, ['restore', 'ada', second!.version], env);
    expect(plain.code).toBe(0);
    const now = (await app.pictures.get('ada'))!;
    expect(plain.stdout).toBe(
      `restored ${second!.version} for user ada: now version ${now.version}\n` +
        ['sm', 'md', 'lg'].map((name) => `  ${name}  ${url(second!, name)}\n`).join(''),
    );
  });

  it('an unknown version: NOT_FOUND, exit 1, nothing changed; missing arguments: exit 2', async () => {
    const record = await app.pictures.get('ada');
    const stored = await app.stored();
    const run = await runCli(app.dir, ['restore', 'ada', 'no-such-version', '--json'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('profile-picture: NOT_FOUND: There is no previous picture with this version.\n');
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'NOT_FOUND', message: 'There is no previous picture with this version.' } });
    expect(await app.pictures.get('ada')).toEqual(record);
    expect(await app.stored()).toEqual(stored);
    expect(await runCli(app.dir, ['restore', 'ada'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'profile-picture: missing <version> (see `profile-picture restore --help`)\n',
    });
  });

  it('--help describes both commands', async () => {
    for (const command of ['history', 'restore']) {
      const run = await runCli(app.dir, [command, '--help']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain(`Usage: profile-picture ${command} <userId>${command === 'restore' ? ' <version>' : ''} [--config <file>] [--json]`);
    }
  });
});
