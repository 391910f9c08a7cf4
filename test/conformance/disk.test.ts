import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStorageAdapter, listKeys, pattern } from 'profile-picture/testing';
import { diskStorage } from '../../src/index.js';

// Each test gets `<sandbox>/<n>/root` as its root, so `<sandbox>/<n>` is "outside the root" and must stay empty
// apart from `root` itself.
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-disk-'));
let counter = 0;
let base = '';
let root = '';
const ABSOLUTE_TARGET = '/abs.webp'; // where a naive path.resolve(root, '/abs.webp') would write

afterAll(() => rm(sandbox, { recursive: true, force: true }));

describeStorageAdapter('disk', {
  create: async () => {
    base = path.join(sandbox, String(++counter));
    root = path.join(base, 'root');
    await mkdir(base);
    return diskStorage({ root });
  },
  probe: {
    rawExists: (key) => exists(path.join(root, key)),
    rawRead: (key) => readFile(path.join(root, key)).catch(() => null),
    rawFiles: () => filesUnder(root),
    async outsideRoot() {
      const entries = (await readdir(base)).filter((name) => name !== 'root').map((name) => path.join(base, name));
      if (await exists(ABSOLUTE_TARGET)) entries.push(ABSOLUTE_TARGET);
      return entries;
    },
    async breakKey(key) {
      // A directory (with content) where the file should go: the final rename fails with EISDIR, as root too.
      await mkdir(path.join(root, key, 'occupied'), { recursive: true });
    },
  },
  additionalTests: ({ storage }) => {
    describe('disk specifics', () => {
      it('requires a root', () => {
        expect(() => diskStorage({ root: '' })).toThrow(/Expected a non-empty string for `diskStorage\(\{ root \}\)`/);
        expect(() => diskStorage(undefined as never)).toThrow(TypeError);
      });

      it('creates the root on first write and stores files at the key path', async () => {
        expect(await exists(root)).toBe(false);
        await storage().put('profile_pictures/42/abc-md.webp', pattern(10, 1), { contentType: 'image/webp' });
        expect(await readFile(path.join(root, 'profile_pictures', '42', 'abc-md.webp'))).toEqual(pattern(10, 1));
      });

      it("a put never fails because a delete empties and removes its directory meanwhile", async () => {
        // The delete of a user's last file removes the directory while a put into it runs mkdir/open: the put must
        // create it again, not fail with ENOENT.
        const webp = { contentType: 'image/webp' };
        const failures: string[] = [];
        for (let i = 0; i < 300; i++) {
          const dir = `profile_pictures/u${i % 3}`;
          await storage().put(`${dir}/a${i}-md.webp`, pattern(8, i), webp);
          await Promise.all([
            storage().delete(`${dir}/a${i}-md.webp`),
            (async () => {
              for (let turn = 0; turn < i % 7; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
              await storage().put(`${dir}/b${i}-md.webp`, pattern(8, i), webp);
              expect(await readFile(path.join(root, ...dir.split('/'), `b${i}-md.webp`))).toEqual(pattern(8, i));
              await storage().delete(`${dir}/b${i}-md.webp`);
            })().catch((err: NodeJS.ErrnoException) => void failures.push(`${err.code} ${err.syscall}`)),
          ]);
        }
        expect(failures).toEqual([]);
      });

      it('removes now-empty user directories after delete, but never the root', async () => {
        await storage().put('profile_pictures/42/a.webp', pattern(10, 1), { contentType: 'image/webp' });
        await storage().put('profile_pictures/42/b.webp', pattern(10, 2), { contentType: 'image/webp' });
        await storage().delete('profile_pictures/42/a.webp');
        expect(await exists(path.join(root, 'profile_pictures', '42'))).toBe(true);
        await storage().delete('profile_pictures/42/b.webp');
        expect(await exists(path.join(root, 'profile_pictures'))).toBe(false);
        expect(await exists(root)).toBe(true);
        await storage().put('profile_pictures/42/c.webp', pattern(10, 3), { contentType: 'image/webp' });
        expect(await listKeys(storage(), 'profile_pictures/')).toEqual(['profile_pictures/42/c.webp']);
      });

      it('derives the content type from the extension', async () => {
        await storage().put('u/1/a.jpg', pattern(4, 1), { contentType: 'image/jpeg' });
        await storage().put('u/1/a.bin', pattern(4, 1), { contentType: 'image/webp' });
        const jpg = await storage().get('u/1/a.jpg');
        const bin = await storage().get('u/1/a.bin');
        jpg!.body.destroy();
        bin!.body.destroy();
        expect(jpg!.contentType).toBe('image/jpeg');
        // Unknown extensions are served inertly rather than trusted.
        expect(bin!.contentType).toBe('application/octet-stream');
      });

      it('does not follow a sibling directory that shares the root as a string prefix', async () => {
        await mkdir(`${root}-evil`, { recursive: true });
        await writeFile(path.join(`${root}-evil`, 'x.webp'), 'evil');
        await expect(storage().get('../root-evil/x.webp')).rejects.toThrow(/Unsafe storage key/);
        await rm(`${root}-evil`, { recursive: true });
      });

      it('hides temp files from list() and get()', async () => {
        await storage().put('u/1/a.webp', pattern(4, 1), { contentType: 'image/webp' });
        await writeFile(path.join(root, 'u', '1', '.tmp-123-a.webp'), 'partial');
        expect(await listKeys(storage(), '')).toEqual(['u/1/a.webp']);
        await expect(storage().get('u/1/.tmp-123-a.webp')).rejects.toThrow(/Unsafe storage key/);
      });
    });
  },
});

// --- helpers ---

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Every file under `dir` (hidden ones included), as `/`-separated paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}
