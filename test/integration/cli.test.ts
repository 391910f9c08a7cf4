/**
 * The `profile-picture` bin, run as a real process (`node dist/cli.js`) in an app folder whose config module builds
 * the service on disk storage and a SQLite database, so what one process does the next one sees. Output is checked
 * against what storage and the database hold: exact numbers with `--json`, the lines people read without it, exit
 * codes 0 / 1 / 2 and the one-line usage hints.
 */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/cli/format.js';
import type { PictureRecord } from '../../src/index.js';
import { createCliApp, ensureCliBuilt, runCli, runCliInTty, type CliApp } from '../helpers/cli-app.js';
import { distinctImages } from '../helpers/images.js';

const HOUR = 60 * 60 * 1000;
/** The commands, as the usage errors list them. */
const COMMANDS = 'stats, sweep, regenerate, erase, export, history, restore, lock, unlock';
const ORPHAN_OLD = 'profile_pictures/gone/0000000000000000000000aa-md.webp';
const ORPHAN_YOUNG = 'profile_pictures/ada/0000000000000000000000bb-sm.webp';

let app: CliApp;
let records: Record<string, PictureRecord>;

beforeAll(async () => {
  await ensureCliBuilt();
  app = await createCliApp();
  app.addUsers(['ada', 'bob', 'cy']);
  const [first, second] = await distinctImages(2, 96);
  records = { ada: await app.pictures.upload('ada', first!), bob: await app.pictures.upload('bob', second!) };
  // Orphans: one old enough for a sweep with the default grace period, one not.
  await app.storage.put(ORPHAN_OLD, Buffer.alloc(1234, 1), { contentType: 'image/webp' });
  await app.storage.put(ORPHAN_YOUNG, Buffer.alloc(321, 2), { contentType: 'image/webp' });
  const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
  await utimes(path.join(app.dir, 'media', ...ORPHAN_OLD.split('/')), twoHoursAgo, twoHoursAgo);
}, 180_000);
afterAll(() => app?.dispose());

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

describe('profile-picture stats', () => {
  it('--json: the exact counts and bytes storage holds, by variant, with the orphans', async () => {
    const stored = await app.stored();
    const sizeOf = (user: string, variant: string) => stored.get(records[user]!.variants[variant]!.key)!;
    const run = await runCli(app.dir, ['stats', '--json']);
    expect(run.code).toBe(0);
    // Progress on stderr, plain off a terminal: the count of each walk (here small: each at its end).
    expect(run.stderr).toBe(`stats: listed ${stored.size} objects\nstats: read 2 records\n`);
    expect(JSON.parse(run.stdout)).toEqual({
      users: 2,
      objects: stored.size,
      bytes: sum(stored.values()),
      referenced: { objects: stored.size - 2, bytes: sum(stored.values()) - 1234 - 321 },
      variants: Object.fromEntries(
        ['sm', 'md', 'lg'].map((name) => [name, { objects: 2, bytes: sizeOf('ada', name) + sizeOf('bob', name) }]),
      ),
      stills: { objects: 0, bytes: 0 },
      // The master each upload stores by default.
      masters: { objects: 2, bytes: stored.get(records.ada!.master!.key)! + stored.get(records.bob!.master!.key)! },
      history: { objects: 0, bytes: 0 },
      orphans: { objects: 2, bytes: 1234 + 321 },
      missing: 0,
    });
  });

  it('on a terminal: a counter for each walk, then the same lines, and no JSON unless asked', async () => {
    const stored = await app.stored();
    const piped = await runCli(app.dir, ['stats']);
    const tty = runCliInTty(app.dir, ['stats']);
    expect(await tty.exited).toBe(0);
    const output = tty.output();
    expect(output).toMatch(new RegExp(`stats: listed ${stored.size} objects \\| \\d+s`));
    expect(output).toMatch(/stats: read 2 records \| \d+s/);
    expect(output.indexOf('stats: read')).toBeGreaterThan(output.indexOf('stats: listed'));
    expect(output.endsWith(piped.stdout.replaceAll('\n', '\r\n'))).toBe(true);
    expect(output).not.toContain('{');
  });

  it('plain lines when stdout is not a TTY', async () => {
    const stored = await app.stored();
    const run = await runCli(app.dir, ['stats']);
    expect(run).toMatchObject({ code: 0, stderr: `stats: listed ${stored.size} objects\nstats: read 2 records\n` });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('users with a picture  2');
    expect(lines).toContain(`orphans               2 objects, 1.6 kB`);
    expect(lines).toContain('missing               0 objects');
    expect(lines.find((line) => line.startsWith('stored'))).toMatch(new RegExp(`^stored {16}${stored.size} objects, \\d+(\\.\\d)? kB$`));
    expect(lines.filter((line) => /^ {2}(sm|md|lg) {18}2 objects, /.test(line))).toHaveLength(3);
    expect(await app.stored()).toEqual(stored); // reading changed nothing
  });
});

describe('profile-picture sweep', () => {
  it('--dry-run lists exactly the old orphan, deletes nothing; --json gives keys and bytes', async () => {
    const before = await app.stored();
    const plain = await runCli(app.dir, ['sweep', '--dry-run']);
    expect(plain).toMatchObject({ code: 0, stderr: `sweep: listed ${before.size} objects\nsweep: read 2 records\n` });
    expect(plain.stdout).toBe(
      `${ORPHAN_OLD}\nwould delete 1 orphan, 1.2 kB, of ${before.size} objects scanned (older than 1h); nothing deleted\n`,
    );
    const json = await runCli(app.dir, ['sweep', '--dry-run', '--older-than', '0', '--json']);
    expect(json).toMatchObject({ code: 0, stderr: plain.stderr });
    const result = JSON.parse(json.stdout) as { keys: string[] };
    expect({ ...result, keys: [...result.keys].sort() }).toEqual({
      scanned: before.size,
      deleted: 0,
      temporary: 0,
      keys: [ORPHAN_YOUNG, ORPHAN_OLD].sort(),
      bytes: 1234 + 321,
    });
    expect(await app.stored()).toEqual(before);
  });

  it('exit 1 with the error code when deletes fail (STORAGE_FAILED), and a JSON error body with --json', async () => {
    const run = await runCli(app.dir, ['sweep', '--json'], { PP_FAIL_DELETES: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\nsweep: deleting 0\/1 \(0%\) orphans deleted\nsweep: deleting the storage's own leftovers \(disk: temp files of crashed writes\)…\nprofile-picture: STORAGE_FAILED: [^\n]*\(cause: read-only file system \(injected\)\)\n$/);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'STORAGE_FAILED', cause: 'read-only file system (injected)' } });
    expect((await app.stored()).has(ORPHAN_OLD)).toBe(true);
  });

  it('deletes the orphans older than --older-than and keeps every referenced object', async () => {
    const before = await app.stored();
    const run = await runCli(app.dir, ['sweep', '--older-than', '1h']);
    expect(run).toMatchObject({
      code: 0,
      stderr:
        `sweep: listed ${before.size} objects\nsweep: read 2 records\nsweep: deleting 1/1 (100%) orphans deleted\n` +
        "sweep: deleting the storage's own leftovers (disk: temp files of crashed writes)…\n",
    });
    expect(run.stdout).toBe(`deleted 1 orphan of ${before.size} objects scanned (older than 1h), and 0 temporary files\n`);
    before.delete(ORPHAN_OLD);
    expect(await app.stored()).toEqual(before);
    // The next process sees the new state.
    const stats = JSON.parse((await runCli(app.dir, ['stats', '--json'])).stdout) as { orphans: unknown };
    expect(stats.orphans).toEqual({ objects: 1, bytes: 321 });
  });
});

// These only read: their processes run side by side.
describe.concurrent('usage', () => {
  it.each([
    [[], `missing command: ${COMMANDS} (see \`profile-picture --help\`)`],
    [['stat'], `unknown command "stat" (commands: ${COMMANDS}) (see \`profile-picture --help\`)`],
    [['stats', '--frobnicate'], "Unknown option '--frobnicate' (see `profile-picture stats --help`)"],
    [['stats', 'extra'], 'unexpected argument "extra" (see `profile-picture stats --help`)'],
    [['sweep', '--older-than', 'an hour'], '--older-than expects a duration such as 90s, 30m, 1h or 2d, not "an hour" (see `profile-picture sweep --help`)'],
    [['sweep', '--older-than'], "Option '--older-than <value>' argument missing (see `profile-picture sweep --help`)"],
    [['stats', '--config', 'nowhere.mjs'], 'config module not found: <dir>/nowhere.mjs (see `profile-picture --help`)'],
  ])('%j: exit 2, one line on stderr, nothing on stdout', async (args, message) => {
    const run = await runCli(app.dir, args);
    expect(run).toEqual({ code: 2, stdout: '', stderr: `profile-picture: ${message.replace('<dir>', app.dir)}\n` });
  });

  it.each([
    [['stat', '--json'], `unknown command "stat" (commands: ${COMMANDS})`, 'profile-picture --help'],
    [['--json', 'stats', '--frobnicate'], "Unknown option '--frobnicate'", 'profile-picture stats --help'],
    [['export', '--json'], 'missing <userId>', 'profile-picture export --help'],
    [['sweep', '--json', '--older-than', 'an hour'], '--older-than expects a duration such as 90s, 30m, 1h or 2d, not "an hour"', 'profile-picture sweep --help'],
    [['stats', '--json', '-c', 'nowhere.mjs'], 'config module not found: <dir>/nowhere.mjs', 'profile-picture --help'],
  ])('%j: exit 2, the same line on stderr, and the error as JSON on stdout', async (args, message, help) => {
    const run = await runCli(app.dir, args);
    const expected = message.replace('<dir>', app.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`profile-picture: ${expected} (see \`${help}\`)\n`);
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'USAGE', message: expected } });
  });

  it('"--json" as the value of --config is a file name, not the flag: plain usage error', async () => {
    const run = await runCli(app.dir, ['stats', '--config', '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });

  it('without a config in the working folder: exit 2 naming the files looked for', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'pp-cli-empty-'));
    try {
      const run = await runCli(empty, ['stats']);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        `profile-picture: no profile-picture.config.js, profile-picture.config.mjs, profile-picture.config.cjs in ${empty}; pass --config <file> (see \`profile-picture --help\`)\n`,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('a config module that exports no service: exit 2', async () => {
    await writeFile(path.join(app.dir, 'empty.config.mjs'), 'export const answer = 42;\n');
    const run = await runCli(app.dir, ['stats', '-c', 'empty.config.mjs']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^profile-picture: empty\.config\.mjs exports no profile-picture service: export it as default or as `pictures`/);
  });

  it.each([
    ['users', `diskStorage({ root: new URL('./media', import.meta.url).pathname }), users: memoryUserRepository()`, 'memoryUserRepository()'],
    ['storage', `memoryStorage(), users: (await import('./profile-picture.config.mjs')).default.options.users`, 'memoryStorage()'],
  ])('a config whose %s lives in process memory: exit 2 before the command runs, nothing listed or deleted', async (part, service, named) => {
    // The CLI is a process of its own: an in-memory repository is empty there, so every picture on disk would look
    // like an orphan to sweep (and stats, export, erase would see no user); an in-memory storage would hold nothing.
    const config = `memory-${part}.config.mjs`;
    await writeFile(
      path.join(app.dir, config),
      `import { createProfilePictures, diskStorage, memoryStorage, memoryUserRepository } from 'profile-picture';\n` +
        `export default createProfilePictures({ storage: ${service} });\n`,
    );
    const before = await app.stored();
    const run = await runCli(app.dir, ['sweep', '--dry-run', '--older-than', '0', '-c', config]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^profile-picture: memory-${part}\\.config\\.mjs builds the service on ${named.replace(/[()]/g, '\\$&')}, whose`));
    expect(run.code).toBe(2);
    expect(await app.stored()).toEqual(before);
  });

  it('--help and <command> --help print to stdout and exit 0', async () => {
    const global = await runCli(app.dir, ['--help']);
    expect(global).toMatchObject({ code: 0, stderr: '' });
    expect(global.stdout).toMatch(/^Usage: profile-picture <command> \[options\]\n/);
    for (const name of COMMANDS.split(', ')) expect(global.stdout).toMatch(new RegExp(`\\n {2}${name} +[A-Z]`));
    expect(global.stdout).toContain('-c, --config <file>');
    const sweep = await runCli(app.dir, ['sweep', '-h']);
    expect(sweep).toMatchObject({ code: 0, stderr: '' });
    expect(sweep.stdout).toMatch(/^Usage: profile-picture sweep \[--dry-run\] \[--older-than <duration>\] \[--config <file>\] \[--json\]\n/);
    expect(sweep.stdout).toContain('--older-than <duration>  Only objects older than this: 90s, 30m, 1h, 2d (default 1h)');
    expect(sweep.stdout.split('\n').every((line) => line.length <= 100)).toBe(true);
  });
});

describe('profile-picture lock and unlock', () => {
  // Leave the app as the other tests expect it: cy unlocked and without a picture.
  afterAll(async () => {
    await app.pictures.unlock('cy');
    await app.pictures.remove('cy');
    await app.pictures.flush();
  });
  const upload = async (userId: string) => {
    const [image] = await distinctImages(1, 80);
    return app.pictures.upload(userId, image!).then(
      () => 'stored',
      (error: { code?: string; details?: unknown }) => `${error.code} ${JSON.stringify(error.details)}`,
    );
  };

  it('lock <userId> --reason <text> --json: the user is locked in the database; the app refuses their uploads', async () => {
    const run = await runCli(app.dir, ['lock', 'cy', '--reason', 'Reported; contact support.', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({ userId: 'cy', locked: true, changed: true, reason: 'Reported; contact support.' });
    expect(await upload('cy')).toBe('LOCKED {"reason":"Reported; contact support."}');
    const again = await runCli(app.dir, ['lock', 'cy', '--reason', 'Reported; contact support.']);
    expect(again).toEqual({ code: 0, stderr: '', stdout: 'user cy was already locked (reason: Reported; contact support.)\n' });
  });

  it('unlock <userId>: uploads work again; unlocking again changes nothing', async () => {
    await runCli(app.dir, ['lock', 'cy']);
    expect(await runCli(app.dir, ['unlock', 'cy'])).toEqual({ code: 0, stderr: '', stdout: 'unlocked user cy\n' });
    expect(await upload('cy')).toBe('stored');
    const again = await runCli(app.dir, ['unlock', 'cy', '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ userId: 'cy', locked: false, changed: false });
  });

  it('lock without a reason, on a user with a picture: the picture stays', async () => {
    const before = await app.pictures.get('cy');
    expect(await runCli(app.dir, ['lock', 'cy'])).toEqual({ code: 0, stderr: '', stdout: 'locked user cy\n' });
    expect(await app.pictures.get('cy')).toMatchObject({ variants: before!.variants, lock: { reason: '' } });
    await runCli(app.dir, ['unlock', 'cy']);
  });

  it('lock with a --reason over 500 characters: exit 2 (a malformed value), one line, the user not locked', async () => {
    const before = await app.pictures.options.users.getPicture('bob');
    expect(await runCli(app.dir, ['lock', 'bob', '--reason', 'x'.repeat(501)])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'profile-picture: --reason: Expected at most 500 characters for `lock(userId, reason)` but received 501 (see `profile-picture lock --help`)\n',
    });
    expect(await app.pictures.options.users.getPicture('bob')).toEqual(before);
  });

  it('lock and unlock need the <userId>: exit 2; --help describes them', async () => {
    for (const command of ['lock', 'unlock']) {
      expect(await runCli(app.dir, [command])).toEqual({
        code: 2,
        stdout: '',
        stderr: `profile-picture: missing <userId> (see \`profile-picture ${command} --help\`)\n`,
      });
    }
    const help = await runCli(app.dir, ['lock', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: profile-picture lock <userId> \[--reason <text>\] \[--config <file>\] \[--json\]\n/);
  });
});

describe.concurrent('config module forms', () => {
  it.each([
    ['named.config.mjs', "export { default as pictures } from './profile-picture.config.mjs';\n"],
    ['factory.config.mjs', "export default async () => (await import('./profile-picture.config.mjs')).default;\n"],
    ['commonjs.config.cjs', "module.exports = { pictures: () => import('./profile-picture.config.mjs').then((m) => m.default) };\n"],
  ])('%s: the same service', async (file, source) => {
    await writeFile(path.join(app.dir, file), source);
    const run = await runCli(app.dir, ['--config', file, 'stats', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ users: 2 });
  });
});

// Last: these change the users the tests above count.
describe('profile-picture export and erase', () => {
  const underBob = async () => new Map([...(await app.stored())].filter(([key]) => key.startsWith('profile_pictures/bob/')));

  it('export <userId> --json: the record and every object under the user, as storage holds them', async () => {
    const bob = await underBob();
    const run = await runCli(app.dir, ['export', 'bob', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const exported = JSON.parse(run.stdout) as { userId: string; record: unknown; objects: Array<{ key: string; size: number; leftover: boolean; url: string }>; missing: string[] };
    expect(exported.userId).toBe('bob');
    expect(exported.record).toEqual(await app.pictures.get('bob'));
    expect(exported.objects.map((object) => [object.key, object.size])).toEqual([...bob].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(exported.objects.every((object) => !object.leftover)).toBe(true);
    // Every variant with its URL; the master (stored by default) with none: it is never served.
    const master = records.bob!.master!.key;
    expect(exported.objects.filter((object) => object.key !== master).every((object) => object.url === `/media/${object.key}`)).toBe(true);
    expect(exported.objects.find((object) => object.key === master)).not.toHaveProperty('url');
    expect(bob.size).toBe(4); // sm, md, lg and the master
    expect(exported.missing).toEqual([]);
    // Without --json: a summary, one line per object.
    const plain = await runCli(app.dir, ['export', 'bob']);
    const lines = plain.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`user bob: picture ${records.bob!.version}, updated ${records.bob!.updatedAt}`);
    expect(lines.slice(1, -1)).toHaveLength(bob.size);
    expect(lines.at(-1)).toBe(`${bob.size} objects, ${formatBytes(sum(bob.values()))}`);
  });

  it('export and erase need the <userId>: exit 2', async () => {
    for (const command of ['export', 'erase']) {
      expect(await runCli(app.dir, [command])).toEqual({
        code: 2,
        stdout: '',
        stderr: `profile-picture: missing <userId> (see \`profile-picture ${command} --help\`)\n`,
      });
    }
  });

  it('erase <userId>: the receipt counts exactly what was under the user; nothing is left, other users untouched', async () => {
    const bob = await underBob();
    const others = new Map([...(await app.stored())].filter(([key]) => !bob.has(key)));
    const run = await runCli(app.dir, ['erase', 'bob', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({ objects: bob.size, bytes: sum(bob.values()), temporary: 0 });
    expect(await underBob()).toEqual(new Map());
    expect(await app.stored()).toEqual(others);
    expect(await app.pictures.get('bob')).toBeNull();
    const again = await runCli(app.dir, ['erase', 'bob']);
    expect(again).toEqual({ code: 0, stderr: '', stdout: 'erased user bob: 0 objects, 0 B, and 0 temporary files\n' });
  });
});
