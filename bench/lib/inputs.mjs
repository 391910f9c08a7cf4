/**
 * Benchmark inputs, made at bench time and cached under `bench/.tmp/` (git-ignored; nothing here is committed).
 *
 * Real camera photos (the default, and what every published figure comes from): two photos from Debian's
 * `mate-backgrounds` package (see photos.mjs), turned into what users upload:
 * - `12mp-jpeg` — a 12 MP phone photo: the Sony RX100 IV photo (5640×3172) cropped at its centre to 4032×3024 (no
 *   scaling), converted to Display P3 with a P3 ICC profile embedded (as iPhones tag their photos), encoded as a
 *   phone does — baseline JPEG, quality 90, 4:2:0 — keeping the camera's EXIF with orientation set to 6 (the
 *   sensor's landscape pixels, displayed turned: every contender must rotate, exactly as for a portrait phone shot);
 * - `12mp-5mb-jpeg` — the same at quality 93, just under the 5 MiB limit, for the memory test;
 * - `small-jpeg` — the Canon photo (1920×1280) byte for byte, only its EXIF orientation tag changed from 1 to 6 in
 *   place (no re-encode);
 * - `png-alpha` — the Canon photo resized to 800×600 with a radial alpha fade, as PNG (a cut-out picture).
 *
 * Why the 12 MP input is converted to Display P3 here rather than taken as some camera wrote it with its profile: no
 * reachable package has a 12 MP-class photo that carries an ICC profile. The nearest, `plasma-workspace-wallpapers`
 * (94 MB) `Path/contents/images/2560x1600.jpg` from an OLYMPUS camera, is 4 MP: it would have to be upscaled 3×,
 * which makes smooth, easily compressed pixels — the decode cost, which is what the 12 MP figures are about, would
 * be a phone's no more than synthetic noise is. Converting real 12 MP camera pixels to P3 gives the decoder a
 * phone's entropy and the pipeline a phone's colour conversion (P3 → sRGB), which is the ICC cost that matters. The
 * profile is libvips' Display P3 (480 B, described `sP3C`); an iPhone embeds Apple's (536 B, `Display P3`), with the
 * same primaries and transfer curve, so the same conversion work.
 *
 * Synthetic inputs (`--inputs synthetic`, the `--quick` default, and the fallback when the photos cannot be fetched):
 * smooth gradients, soft shapes, a low-frequency texture and per-pixel noise, so the JPEG compresses like a phone
 * photo (~3 MB at 12 MP); the 12 MP files carry EXIF orientation 6 and GPS tags.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { fetchPhotos, patchOrientation, PHOTOS, sha256 } from './photos.mjs';

/** Bump when a generator changes so stale caches are regenerated. */
const SYNTHETIC_VERSION = 2;
const PHOTO_VERSION = 2;
const FIVE_MIB = 5 * 1024 * 1024;

const EXIF = {
  IFD0: { Make: 'BenchCam', Model: 'Photo 12' },
  IFD3: {
    GPSLatitudeRef: 'N',
    GPSLatitude: '51/1 30/1 2646/100',
    GPSLongitudeRef: 'W',
    GPSLongitude: '0/1 7/1 3954/100',
  },
};

/**
 * @typedef {object} Input
 * @property {string} name         the role: `12mp-jpeg`, `12mp-5mb-jpeg`, `small-jpeg`, `png-alpha`
 * @property {string} label        short description used in tables, e.g. `12mp-phone-jpeg`
 * @property {string} description  how it was made (for the report)
 * @property {string} file         absolute path of the cached file
 * @property {string} filename     name sent in the multipart part
 * @property {string} mime         declared part Content-Type
 * @property {Buffer} bytes
 * @property {string} sha256
 * @property {{ width: number, height: number, orientation: number | null, icc: number, iccName: string | null, exif: number, progressive: boolean }} meta
 *   as stored (before orientation); `icc` and `exif` are the sizes of those blocks in bytes, `iccName` the profile's
 *   description
 */

/** Every input role, in table order. */
export const INPUT_NAMES = ['12mp-jpeg', '12mp-5mb-jpeg', 'small-jpeg', 'png-alpha'];

/** How each role is made from the photos: label, description, and the bytes. */
const FROM_PHOTOS = {
  '12mp-jpeg': {
    label: '12mp-phone-jpeg',
    describe: (p) => `${p.sony.source}, centre crop 4032×3024, converted to Display P3 (ICC embedded), baseline JPEG q90 4:2:0, camera EXIF kept, orientation set to 6`,
    make: (p) => phoneStyle(p.sony.bytes, 90),
  },
  '12mp-5mb-jpeg': {
    label: '12mp-phone-jpeg-q93',
    describe: (p) => `as 12mp-phone-jpeg at quality 93`,
    make: (p) => phoneStyle(p.sony.bytes, 93),
  },
  'small-jpeg': {
    label: '2.5mp-camera-jpeg',
    describe: (p) => `${p.canon.source} as shipped (1920×1280, no ICC), EXIF orientation tag patched 1 → 6 in place`,
    make: async (p) => patchOrientation(p.canon.bytes, 6),
  },
  'png-alpha': {
    label: '800x600-png-alpha',
    describe: (p) => `${p.canon.source} resized (cover) to 800×600, radial alpha fade added, PNG`,
    make: (p) => cutOut(p.canon.bytes),
  },
};

/** Synthetic inputs: name → how to make it. */
const SYNTHETIC = {
  '12mp-jpeg': { label: '12mp-jpeg', width: 4032, height: 3024, noise: 16, seed: 42, encode: (s) => s.jpeg({ quality: 90 }), exif: true },
  '12mp-5mb-jpeg': { label: '12mp-5mb-jpeg', width: 4032, height: 3024, noise: 14, seed: 43, encode: (s) => s.jpeg({ quality: 95 }), exif: true },
  'small-jpeg': { label: '1mp-jpeg', width: 1152, height: 864, noise: 16, seed: 44, encode: (s) => s.jpeg({ quality: 90 }), exif: false },
  'png-alpha': { label: '800x600-png-alpha', width: 800, height: 600, noise: 10, seed: 45, encode: (s) => s.png(), exif: false, alpha: true },
};

/**
 * Loads (making on first use) the inputs named in `names`.
 * @param {string} cacheDir  `bench/.tmp`
 * @param {string[]} names
 * @param {{ source: 'photos' | 'synthetic', log: (...parts: unknown[]) => void }} options
 * @returns {Promise<{ inputs: Record<string, Input>, source: 'photos' | 'synthetic', notes: string[], photos: object[] }>}
 *   `source` is what was used: `'synthetic'` after a failed photo download, with the reason in `notes`; `photos`:
 *   the source files used (`source`, `sha256`, `expected`).
 */
export async function loadInputs(cacheDir, names, { source, log }) {
  const notes = [];
  let photos = null;
  if (source === 'photos') {
    const fetched = await fetchPhotos(cacheDir, log);
    if (fetched.photos) {
      photos = fetched.photos;
      for (const [role, photo] of Object.entries(photos)) {
        if (!photo.expected) notes.push(`${photo.source} is not the expected file (sha256 ${photo.sha256}, expected ${PHOTOS[role].sha256}).`);
      }
    } else {
      notes.push(`REAL PHOTOS UNAVAILABLE (${fetched.error}): these figures come from SYNTHETIC inputs and are not comparable to published ones.`);
      log(`photos: ${notes.at(-1)}`);
    }
  }
  // The photos' hashes are part of the cache's name: another package version makes other inputs.
  const photoTag = photos ? sha256(Buffer.from(Object.values(photos).map((p) => p.sha256).join())).slice(0, 8) : '';
  const dir = path.join(cacheDir, photos ? `inputs-photos-v${PHOTO_VERSION}-${photoTag}` : `inputs-v${SYNTHETIC_VERSION}`);
  await mkdir(dir, { recursive: true });
  /** @type {Record<string, Input>} */
  const inputs = {};
  for (const name of names) {
    const spec = photos ? FROM_PHOTOS[name] : SYNTHETIC[name];
    if (!spec) throw new Error(`unknown input ${name}`);
    const ext = name === 'png-alpha' ? 'png' : 'jpg';
    const file = path.join(dir, `${name}.${ext}`);
    let bytes = await readFile(file).catch(() => null);
    if (!bytes) {
      bytes = photos ? await spec.make(photos) : await generate(spec);
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, file);
    }
    if (bytes.length >= FIVE_MIB) throw new Error(`${name} is ${bytes.length} bytes, over the 5 MiB limit`);
    const meta = await sharp(bytes).metadata();
    inputs[name] = {
      name,
      label: spec.label,
      description: photos
        ? spec.describe(photos)
        : `synthetic ${spec.width}×${spec.height}${spec.exif ? ', EXIF orientation 6 + GPS' : ''}${spec.alpha ? ', alpha' : ''}`,
      file,
      filename: `photo.${ext}`,
      mime: ext === 'png' ? 'image/png' : 'image/jpeg',
      bytes,
      sha256: sha256(bytes),
      meta: {
        width: meta.width,
        height: meta.height,
        orientation: meta.orientation ?? null,
        icc: meta.icc?.length ?? 0,
        iccName: meta.icc ? iccDescription(meta.icc) : null,
        exif: meta.exif?.length ?? 0,
        progressive: Boolean(meta.isProgressive),
      },
    };
  }
  const used = photos ? Object.values(photos).map(({ source: from, sha256: hash, expected }) => ({ source: from, sha256: hash, expected })) : [];
  return { inputs, source: photos ? 'photos' : 'synthetic', notes, photos: used };
}

// --- internal ---

/** The `desc` tag of an ICC profile (v2 `desc` or v4 `mluc`), e.g. `Display P3`; null when absent. */
function iccDescription(icc) {
  const tags = icc.readUInt32BE(128);
  for (let i = 0; i < tags; i++) {
    const entry = 132 + i * 12;
    if (icc.toString('latin1', entry, entry + 4) !== 'desc') continue;
    const at = icc.readUInt32BE(entry + 4);
    const type = icc.toString('latin1', at, at + 4);
    if (type === 'desc') return icc.toString('latin1', at + 12, at + 12 + icc.readUInt32BE(at + 8)).replace(/\0+$/, '');
    if (type === 'mluc') {
      const length = icc.readUInt32BE(at + 20);
      const offset = icc.readUInt32BE(at + 24);
      return Buffer.from(icc.subarray(at + offset, at + offset + length)).swap16().toString('utf16le');
    }
  }
  return null;
}

/**
 * A 12 MP phone photo from the Sony photo: centre crop, Display P3, baseline JPEG at `quality`, EXIF kept, orientation
 * 6. Also used by bench/shrink.mjs and the browser tests (quality 96: 6.4 MB, over the 5 MiB limit).
 * @param {Buffer} sony  the photo's bytes ({@link PHOTOS}.sony)
 * @param {number} quality
 * @returns {Promise<Buffer>}
 */
export function phoneStyle(sony, quality) {
  // Order matters: a withMetadata() after withIccProfile() puts sRGB back (the profile then says sRGB).
  return sharp(sony)
    .extract({ left: (5640 - 4032) / 2, top: (3172 - 3024) / 2, width: 4032, height: 3024 })
    .keepExif()
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer();
}

/** The photo at 800×600 with a radial alpha fade (opaque in the middle, transparent in the corners), as PNG. */
async function cutOut(photo) {
  const width = 800;
  const height = 600;
  const rgb = await sharp(photo).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  const alpha = Buffer.allocUnsafe(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = (x - width / 2) / (width / 2);
      const dy = (y - height / 2) / (height / 2);
      alpha[y * width + x] = Math.max(0, Math.min(255, Math.round(255 * (1.3 - Math.sqrt(dx * dx + dy * dy)))));
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .joinChannel(alpha, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

async function generate(spec) {
  const channels = spec.alpha ? 4 : 3;
  const data = paint(spec.width, spec.height, channels, spec.noise, spec.seed);
  let pipeline = spec.encode(sharp(data, { raw: { width: spec.width, height: spec.height, channels } }));
  if (spec.exif) pipeline = pipeline.withExif(EXIF).withMetadata({ orientation: 6 });
  return pipeline.toBuffer();
}

/** Sky gradient over textured ground, a dozen soft blobs, triangular-distributed noise; alpha is a radial fade. */
function paint(width, height, channels, noise, seed) {
  const random = mulberry32(seed);
  const TABLE = 1 << 16;
  const table = new Int16Array(TABLE);
  for (let i = 0; i < TABLE; i++) table[i] = Math.round((random() + random() + random() - 1.5) * noise);
  const blobs = Array.from({ length: 12 }, () => ({
    x: random() * width,
    y: random() * height,
    r: (0.05 + random() * 0.2) * width,
    c: [random() * 255, random() * 255, random() * 255],
  }));
  const horizon = height * 0.55;
  const out = Buffer.allocUnsafe(width * height * channels);
  let state = seed | 1;
  const next = () => {
    // xorshift32: cheap, full-period index into the noise table
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return table[state & (TABLE - 1)];
  };
  const clamp = (v) => (v < 0 ? 0 : v > 255 ? 255 : v);
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r, g, b;
      if (y < horizon) {
        const t = y / horizon;
        r = 90 + t * 120;
        g = 140 + t * 90;
        b = 230 - t * 30;
      } else {
        const t = (y - horizon) / (height - horizon);
        const tex = Math.sin(x * 0.013 + Math.sin(y * 0.021) * 3) * 25 + Math.sin(y * 0.05 + x * 0.003) * 15;
        r = 70 + tex - t * 30;
        g = 110 + tex * 0.8 - t * 40;
        b = 50 + tex * 0.5;
      }
      for (const blob of blobs) {
        const dx = x - blob.x;
        const dy = y - blob.y;
        const d2 = (dx * dx + dy * dy) / (blob.r * blob.r);
        if (d2 < 1) {
          const a = (1 - d2) * 0.6;
          r += (blob.c[0] - r) * a;
          g += (blob.c[1] - g) * a;
          b += (blob.c[2] - b) * a;
        }
      }
      out[o++] = clamp(r + next());
      out[o++] = clamp(g + next());
      out[o++] = clamp(b + next());
      if (channels === 4) {
        const dx = (x - width / 2) / (width / 2);
        const dy = (y - height / 2) / (height / 2);
        out[o++] = clamp(255 * (1.3 - Math.sqrt(dx * dx + dy * dy)));
      }
    }
  }
  return out;
}

function mulberry32(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
