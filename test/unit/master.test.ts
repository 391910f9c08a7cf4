/**
 * The master each upload stores (issue 11 §1): what it holds (checked with sharp: size, format, pixels, no
 * metadata), `master: false`, and that it follows the upload's ordering — deleted with a replaced or removed
 * picture, kept by sweep() while referenced, removed by a rollback.
 */
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type StorageAdapter,
} from '../../src/index.js';
import * as fx from '../fixtures/index.js';
import { createTestService, listKeys, readObject, recordKeys, rejectionOf } from '../fixtures/service.js';

/** Mean absolute difference per channel between two same-sized images' RGB pixels. */
async function meanDifference(a: Uint8Array | Sharp, b: Uint8Array | Sharp): Promise<number> {
  const pixels = async (image: Uint8Array | Sharp) =>
    (image instanceof Uint8Array ? sharp(image) : image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [x, y] = await Promise.all([pixels(a), pixels(b)]);
  expect([x.info.width, x.info.height]).toEqual([y.info.width, y.info.height]);
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += Math.abs(x.data[i]! - y.data[i]!);
  return sum / x.data.length;
}

/** A 3000×2000 JPEG with a gradient, EXIF orientation 6 and GPS: displayed 2000×3000. */
async function largeRotatedPhoto(): Promise<Buffer> {
  const gradient = fx.rawPixels(3000, 2000, 3, (x, y) => [Math.floor((x * 255) / 3000), Math.floor((y * 255) / 2000), 90]);
  return sharp(gradient, { raw: { width: 3000, height: 2000, channels: 3 } })
    .withExif({ IFD0: { Make: fx.SECRET_MAKE }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 92 })
    .toBuffer();
}

describe('master', () => {
  it('by default stores the oriented upload downscaled to 2048 px, re-encoded as JPEG, sRGB, without any metadata', async () => {
    const { pictures, storage } = createTestService();
    const photo = await largeRotatedPhoto();
    const record = await pictures.upload('u1', photo);
    const master = record.master!;
    expect(master).toMatchObject({ width: 1365, height: 2048, contentType: 'image/jpeg' });
    expect(master.crop).toBeUndefined();
    expect(master.key).toMatch(/^profile_pictures\/u1\/[0-9a-f]{24}\.master\.[0-9a-f]{24}\.jpg$/);
    // Same upload id as the variants: one upload, one id (invariant 5).
    expect(master.key.split('/')[2]!.slice(0, 24)).toBe(record.variants.md!.key.split('/')[2]!.slice(0, 24));
    const bytes = await readObject(storage, master.key);
    expect(bytes.byteLength).toBe(master.bytes);
    expect(bytes.equals(photo)).toBe(false);
    const meta = await sharp(bytes).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 1365, height: 2048, space: 'srgb' });
    expect(meta.exif).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(bytes.includes(Buffer.from(fx.SECRET_MAKE))).toBe(false);
    // The pixels are the upload's, turned upright.
    expect(await meanDifference(bytes, sharp(photo).rotate().resize(1365, 2048))).toBeLessThan(3);
  });

  it('keeps an upload smaller than maxSide at its size, and records and applies the crop', async () => {
    const { pictures, storage } = createTestService({ master: true });
    const crop = { left: 150, top: 0, width: 150, height: 150 }; // the green quadrant
    const record = await pictures.upload('u1', await fx.jpegQuadrants(), { crop });
    expect(record.master).toMatchObject({ width: 150, height: 150, crop });
    const bytes = await readObject(storage, record.master!.key);
    expect(fx.near(await fx.pixelAt(bytes, 75, 75), fx.GREEN)).toBe(true);
    expect(fx.near(await fx.pixelAt(bytes, 5, 145), fx.GREEN)).toBe(true);
  });

  it('honours a smaller master.maxSide', async () => {
    const { pictures } = createTestService({ master: { maxSide: 512 } });
    const record = await pictures.upload('u1', await largeRotatedPhoto());
    expect(record.master).toMatchObject({ width: 341, height: 512 });
  });

  it('keeps transparency as WebP', async () => {
    const { pictures, storage } = createTestService({ master: true });
    const record = await pictures.upload('u1', await fx.pngWithAlpha());
    expect(record.master).toMatchObject({ width: 200, height: 100, contentType: 'image/webp' });
    expect(record.master!.key).toMatch(/\.master\.[0-9a-f]{24}\.webp$/);
    const bytes = await readObject(storage, record.master!.key);
    expect((await sharp(bytes).metadata()).hasAlpha).toBe(true);
    expect((await fx.pixelAt(bytes, 20, 50))[3]).toBe(0);
    expect(fx.near(await fx.pixelAt(bytes, 180, 50), [...fx.BLUE, 255])).toBe(true);
  });

  it('renders the same variants as without a master, from the one decode', async () => {
    const photo = await largeRotatedPhoto();
    const withMaster = createTestService({ master: true });
    const without = createTestService({ master: false });
    const a = await withMaster.pictures.upload('u1', photo);
    const b = await without.pictures.upload('u1', photo);
    for (const name of ['sm', 'md', 'lg']) {
      const difference = await meanDifference(
        await readObject(withMaster.storage, a.variants[name]!.key),
        await readObject(without.storage, b.variants[name]!.key),
      );
      expect(difference, name).toBeLessThan(2);
    }
  });

  it('converts an upload tagged Display P3 to sRGB, in the master and every variant, with or without alpha', async () => {
    // One sRGB colour, stored as Display P3 numbers with the P3 profile attached (as phones write photos). The master's
    // colour conversion runs after its downscale (colour-after-resize.ts); ignoring the profile would leave the P3 numbers.
    const srgb = [40, 180, 90];
    const flat = (channels: 3 | 4) =>
      sharp(fx.rawPixels(3000, 2000, channels, () => (channels === 4 ? [...srgb, 255] : srgb)), { raw: { width: 3000, height: 2000, channels } })
        .withIccProfile('p3');
    const uploads = { jpeg: await flat(3).jpeg({ quality: 95 }).toBuffer(), png: await flat(4).png().toBuffer() };
    const mean = async (bytes: Uint8Array) => (await sharp(bytes).stats()).channels.slice(0, 3).map((channel) => channel.mean);
    for (const [format, upload] of Object.entries(uploads)) {
      const asStored = (await sharp(upload, { ignoreIcc: true }).stats()).channels.slice(0, 3).map((channel) => channel.mean);
      expect(Math.max(...asStored.map((value, i) => Math.abs(value - srgb[i]!))), format).toBeGreaterThan(15);
      const { pictures, storage } = createTestService({ master: true });
      const record = await pictures.upload('u1', upload);
      expect(record.master!.contentType, format).toBe(format === 'png' ? 'image/webp' : 'image/jpeg');
      for (const key of [record.master!.key, ...Object.values(record.variants).map((variant) => variant.key)]) {
        const colour = await mean(await readObject(storage, key));
        for (const [i, value] of colour.entries()) expect(Math.abs(value - srgb[i]!), `${format} ${key}`).toBeLessThan(5);
      }
    }
  });

  it('master: false stores none', async () => {
    const { pictures, storage } = createTestService({ master: false });
    const record = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    expect(record.master).toBeUndefined();
    expect(await listKeys(storage)).toEqual(Object.values(record.variants).map((variant) => variant.key).sort());
  });

  it('with default options stores exactly the variants and one master', async () => {
    const { pictures, storage } = createTestService();
    const record = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    const keys = await listKeys(storage);
    expect(keys).toEqual([...Object.values(record.variants).map((variant) => variant.key), record.master!.key].sort());
    expect(keys.filter((key) => key.includes('.master.'))).toHaveLength(1);
    const meta = await sharp(await readObject(storage, record.master!.key)).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: record.master!.width, height: record.master!.height });
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(2048);
  });

  it('has a key no variant key reveals', async () => {
    const { pictures } = createTestService({ master: true });
    const first = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    const second = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    for (const record of [first, second]) {
      const [, uploadId, random] = /\/([0-9a-f]{24})\.master\.([0-9a-f]{24})\.jpg$/.exec(record.master!.key)!;
      const variantKeys = Object.values(record.variants).map((variant) => variant.key);
      for (const key of variantKeys) expect(key).toContain(uploadId);
      // The random part is nowhere in what the page shows (the variant URLs), nor the upload id again.
      expect(random).not.toBe(uploadId);
      for (const key of variantKeys) expect(key).not.toContain(random!);
      expect(record.master!.key).not.toBe(`profile_pictures/u1/${uploadId}.master.jpg`);
    }
    expect(first.master!.key.split('.master.')[1]).not.toBe(second.master!.key.split('.master.')[1]);
  });

  it('is never served by the media route, in any letter case, even from a case-insensitive storage', async () => {
    // A disk on macOS or Windows: keys that differ in case (and, on Windows, by a trailing dot) name one file.
    const base = memoryStorage();
    const fold = (key: string) => key.toLowerCase().replace(/\.+$/, '');
    const storage: StorageAdapter = { ...base, get: (key) => base.get(fold(key)) };
    const pictures = createProfilePictures({ storage, users: memoryUserRepository(), master: true });
    const record = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    const key = record.master!.key;
    const [dir, name] = [key.slice(0, key.lastIndexOf('/') + 1), key.slice(key.lastIndexOf('/') + 1)];
    const missing = await pictures.serve(`${dir}0123456789abcdef01234567-md.webp`);
    expect(missing.status).toBe(404);
    for (const asked of [name, name.toUpperCase(), name.replace('master', 'Master'), name.replace('.jpg', '.JPG'), `${name}.`]) {
      // The storage would answer each of these with the master's bytes.
      expect(await storage.get(dir + asked), asked).not.toBeNull();
      expect(await pictures.serve(dir + asked), asked).toEqual(missing);
    }
    expect((await pictures.serve(record.variants.md!.key)).status).toBe(200);
  });

  it('a replace and a remove delete the old master with the old variants', async () => {
    const { pictures, storage } = createTestService({ master: true });
    const first = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    const second = await pictures.upload('u1', await fx.jpegQuadrants());
    await pictures.flush();
    expect(await storage.get(first.master!.key)).toBeNull();
    expect(await listKeys(storage)).toEqual(recordKeys(second));
    expect(await pictures.remove('u1')).toBe(true);
    await pictures.flush();
    expect(await listKeys(storage)).toEqual([]);
  });

  it('sweep() keeps referenced masters and deletes an orphaned one', async () => {
    const { pictures, storage } = createTestService({ master: true });
    const record = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    const orphan = 'profile_pictures/u1/0123456789abcdef01234567.master.89abcdef0123456789abcdef.jpg';
    await storage.put(orphan, await readObject(storage, record.master!.key), { contentType: 'image/jpeg' });
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ scanned: 5, deleted: 1 });
    expect(await listKeys(storage)).toEqual(recordKeys(record));
  });

  it('export() lists the master as referenced and erase() deletes it', async () => {
    const { pictures, storage } = createTestService({ master: true });
    const record = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    const exported = await pictures.export('u1');
    const master = exported.objects.find((object) => object.key === record.master!.key)!;
    expect(master).toMatchObject({ referencedBy: ['master.key'], leftover: false });
    // Never served, so no URL that would answer 404; the variants keep theirs.
    expect(master).not.toHaveProperty('url');
    const md = exported.objects.find((object) => object.key === record.variants.md!.key)!;
    expect((await pictures.serve(md.url!.replace('/media/', ''))).status).toBe(200);
    expect((await pictures.erase('u1')).objects).toBe(4);
    expect(await listKeys(storage)).toEqual([]);
  });

  it('a failed master write rolls the whole upload back; the old picture stays', async () => {
    const base = memoryStorage();
    let failMaster = false;
    const storage: StorageAdapter = {
      ...base,
      async put(key, body, meta) {
        if (failMaster && key.includes('.master.')) {
          await base.put(key, body, meta); // written, but the answer is lost
          throw new Error('connection reset after the write (injected)');
        }
        return base.put(key, body, meta);
      },
    };
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ storage, users, onOrphan: () => {}, master: true });
    const before = await pictures.upload('u1', await fx.jpegLeftRedRightBlue());
    failMaster = true;
    expect((await rejectionOf(pictures.upload('u1', await fx.jpegQuadrants()))).code).toBe('STORAGE_FAILED');
    expect(await users.getPicture('u1')).toEqual(before);
    expect(await listKeys(base)).toEqual(recordKeys(before));
  });

  it('validates the option', () => {
    const storage = memoryStorage();
    const users = memoryUserRepository();
    const create = (master: unknown) => () => createProfilePictures({ storage, users, master: master as false });
    expect(create('yes')).toThrow(TypeError);
    expect(create(1)).toThrow(TypeError);
    expect(create({ maxSide: 8 })).toThrow(RangeError);
    expect(create({ maxSide: 1.5 })).toThrow(/master\.maxSide/);
    expect(create({ maxside: 1024 })).toThrow('Unknown option `master.maxside`; did you mean `master.maxSide`?');
    // On by default at 2048 px (issue 11), frozen like every resolved option; `true` means the same; `false` turns it off.
    const byDefault = createProfilePictures({ storage, users }).options.master;
    expect(byDefault).toEqual({ maxSide: 2048 });
    expect(Object.isFrozen(byDefault)).toBe(true);
    expect(createProfilePictures({ storage, users, master: undefined }).options.master).toEqual({ maxSide: 2048 });
    expect(createProfilePictures({ storage, users, master: false }).options.master).toBe(false);
    expect(createProfilePictures({ storage, users, master: true }).options.master).toEqual({ maxSide: 2048 });
    expect(createProfilePictures({ storage, users, master: { maxSide: 1024 } }).options.master).toEqual({ maxSide: 1024 });
  });
});
