/**
 * Benchmark inputs, generated once and cached under `bench/.tmp/inputs/`.
 *
 * Synthetic but photo-like: smooth gradients, soft shapes, a low-frequency texture and per-pixel noise, so the JPEG
 * compresses like a phone photo (~3 MB at 12 MP) and the decoder does the same amount of entropy work. The 12 MP
 * files carry EXIF orientation 6 (so every contender must rotate) and GPS tags (which must not survive).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** Bump when the generator changes so stale caches are regenerated. */
const GENERATOR_VERSION = 2;
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
 * @property {string} name      short label used in tables
 * @property {string} file      absolute path of the cached file
 * @property {string} filename  name sent in the multipart part
 * @property {string} mime      declared part Content-Type
 * @property {Buffer} bytes
 * @property {number} width     stored (pre-orientation) width
 * @property {number} height
 */

/** Every input: name → how to make it. */
const SPECS = {
  /** The headline case: a 12 MP phone photo, ~3 MB, orientation 6 + GPS. */
  '12mp-jpeg': { width: 4032, height: 3024, noise: 16, seed: 42, encode: (s) => s.jpeg({ quality: 90 }), exif: true },
  /** The same photo at higher quality: just under the 5 MiB limit, for the memory test. */
  '12mp-5mb-jpeg': { width: 4032, height: 3024, noise: 14, seed: 43, encode: (s) => s.jpeg({ quality: 95 }), exif: true },
  '1mp-jpeg': { width: 1152, height: 864, noise: 16, seed: 44, encode: (s) => s.jpeg({ quality: 90 }), exif: false },
  '800x600-png-alpha': { width: 800, height: 600, noise: 10, seed: 45, encode: (s) => s.png(), exif: false, alpha: true },
};

/**
 * Loads (generating on first use) the inputs named in `names`.
 * @param {string} cacheDir
 * @param {string[]} names
 * @returns {Promise<Record<string, Input>>}
 */
export async function loadInputs(cacheDir, names) {
  const dir = path.join(cacheDir, `inputs-v${GENERATOR_VERSION}`);
  await mkdir(dir, { recursive: true });
  /** @type {Record<string, Input>} */
  const inputs = {};
  for (const name of names) {
    const spec = SPECS[name];
    if (!spec) throw new Error(`unknown input ${name}`);
    const ext = name.endsWith('png') || name.endsWith('png-alpha') ? 'png' : 'jpg';
    const file = path.join(dir, `${name}.${ext}`);
    let bytes = await readFile(file).catch(() => null);
    if (!bytes) {
      bytes = await generate(spec);
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, file);
    }
    if (bytes.length >= FIVE_MIB) throw new Error(`${name} is ${bytes.length} bytes, over the 5 MiB limit`);
    inputs[name] = {
      name,
      file,
      filename: `photo.${ext}`,
      mime: ext === 'png' ? 'image/png' : 'image/jpeg',
      bytes,
      width: spec.width,
      height: spec.height,
    };
  }
  return inputs;
}

/** All input names, in table order. */
export const INPUT_NAMES = Object.keys(SPECS);

// --- internal ---

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
