/**
 * Real camera photos for the benchmark, fetched at bench time from Debian's `mate-backgrounds` package (the only
 * source of real photos this kind of machine can reach: the npm registry and Debian's archive) and cached under
 * `bench/.tmp/photos/`. Nothing here is committed to the repository.
 *
 * Two files are taken from the package, both straight out of a camera (their EXIF says so):
 * - `abstract/Elephants_5640x3172.jpg`: Sony DSC-RX100M4, 5640×3172 (17.9 MP), 16 MB, progressive, no ICC;
 * - `nature/Storm.jpg`: Canon, 1920×1280 (2.5 MP), 0.7 MB, baseline, no ICC.
 *
 * `fetchPhotos()` runs `apt-get download mate-backgrounds` and extracts just those two files (`dpkg-deb
 * --fsys-tarfile | tar -x`); a machine without apt or without the archive gets `null` and the caller falls back to
 * synthetic inputs, saying so loudly in the report.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PACKAGE = 'mate-backgrounds';
const IN_PACKAGE = './usr/share/backgrounds/mate/';

/**
 * The photos used, by role. `sha256` is the file in `mate-backgrounds` 1.26.0-1 (Debian 12); another version of the
 * package may carry other bytes, which the report then shows.
 */
export const PHOTOS = {
  sony: { file: 'abstract/Elephants_5640x3172.jpg', sha256: '7ab602cd55aedd107743973353e58771860d1a74a0cd0701e8351096535edde8' },
  canon: { file: 'nature/Storm.jpg', sha256: '77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957' },
};

/**
 * @typedef {object} Photo
 * @property {Buffer} bytes
 * @property {string} source    where it came from, e.g. `mate-backgrounds 1.26.0-1: abstract/Elephants_5640x3172.jpg`
 * @property {string} sha256
 * @property {boolean} expected  true when the bytes are the ones {@link PHOTOS} names
 */

/**
 * The photos of {@link PHOTOS}, from the cache or fetched now.
 * @param {string} cacheDir  `bench/.tmp`
 * @param {(...parts: unknown[]) => void} log
 * @returns {Promise<{ photos: Record<keyof PHOTOS, Photo>, version: string } | { photos: null, error: string }>}
 */
export async function fetchPhotos(cacheDir, log) {
  const dir = path.join(cacheDir, 'photos');
  const versionFile = path.join(dir, 'VERSION');
  let version = await readFile(versionFile, 'utf8').catch(() => null);
  if (version === null || !(await allPresent(dir))) {
    try {
      version = await download(cacheDir, dir, log);
    } catch (err) {
      return { photos: null, error: String(err?.message ?? err).split('\n')[0] };
    }
  }
  const photos = {};
  for (const [role, { file, sha256: expected }] of Object.entries(PHOTOS)) {
    const bytes = await readFile(path.join(dir, path.basename(file)));
    const actual = sha256(bytes);
    photos[role] = { bytes, source: `${PACKAGE} ${version.trim()}: ${file}`, sha256: actual, expected: actual === expected };
  }
  return { photos, version: version.trim() };
}

// --- internal ---

async function allPresent(dir) {
  const names = new Set(await readdir(dir).catch(() => []));
  return Object.values(PHOTOS).every(({ file }) => names.has(path.basename(file)));
}

/** Downloads the package into a temp folder, extracts the photos into `dir`, and removes the rest. */
async function download(cacheDir, dir, log) {
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(path.join(cacheDir, 'apt-'));
  try {
    log(`photos: apt-get download ${PACKAGE} (≈ 47 MB) …`);
    await run('apt-get', ['download', PACKAGE], { cwd: work, maxBuffer: 1 << 24 });
    const deb = (await readdir(work)).find((name) => name.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${PACKAGE} left no .deb`);
    const version = decodeURIComponent(deb).replace(/^[^_]+_([^_]+)_.*$/, '$1');
    const members = Object.values(PHOTOS).map(({ file }) => IN_PACKAGE + file);
    await run('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "$3" "$4"', 'sh', path.join(work, deb), work, ...members]);
    await mkdir(dir, { recursive: true });
    for (const member of members) await copyFile(path.join(work, member), path.join(dir, path.basename(member)));
    const temp = path.join(dir, `VERSION.${process.pid}`);
    await writeFile(temp, `${version}\n`);
    await rename(temp, path.join(dir, 'VERSION'));
    return version;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Sets the EXIF orientation tag of a JPEG in place, without re-encoding anything: the tag (a SHORT in IFD0 of the
 * APP1 `Exif` segment) must already exist. Returns a patched copy.
 * @param {Buffer} jpeg
 * @param {number} orientation 1–8
 * @throws Error when the file has no EXIF orientation tag to patch
 */
export function patchOrientation(jpeg, orientation) {
  const out = Buffer.from(jpeg);
  const tiff = exifTiffOffset(out);
  if (tiff === null) throw new Error('no EXIF segment');
  const little = out.toString('latin1', tiff, tiff + 2) === 'II';
  const u16 = (at) => (little ? out.readUInt16LE(at) : out.readUInt16BE(at));
  const u32 = (at) => (little ? out.readUInt32LE(at) : out.readUInt32BE(at));
  const ifd = tiff + u32(tiff + 4);
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) !== 0x0112) continue;
    if (u16(entry + 2) !== 3 || u32(entry + 4) !== 1) throw new Error('unexpected Orientation entry type');
    if (little) out.writeUInt16LE(orientation, entry + 8);
    else out.writeUInt16BE(orientation, entry + 8);
    return out;
  }
  throw new Error('no Orientation tag in IFD0');
}

/** Offset of the TIFF header inside the APP1 `Exif` segment, or null. */
function exifTiffOffset(jpeg) {
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1];
    if (marker === 0xda || marker === 0xd9) return null; // image data starts: no EXIF before it
    const length = jpeg.readUInt16BE(at + 2);
    if (marker === 0xe1 && jpeg.toString('latin1', at + 4, at + 10) === 'Exif\0\0') return at + 10;
    at += 2 + length;
  }
  return null;
}

/** SHA-256 (hex) of `bytes`. */
export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}
