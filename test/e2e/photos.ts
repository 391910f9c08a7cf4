/**
 * Photo-like JPEGs for the browser tests, generated at test time (no binaries in the repository): a lit portrait
 * scene with soft focus, sensor noise and camera EXIF, at a phone-photo size, so uploads take long enough to show
 * progress and the rendered avatars look like real pictures in the screenshots.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { phoneStyle } from '../../bench/lib/inputs.mjs';
import { fetchPhotos } from '../../bench/lib/photos.mjs';

/** Colours of one generated portrait. */
interface Palette {
  skyTop: string;
  skyBottom: string;
  shirt: string;
  hair: string;
}

/** Warm palette: the first upload. */
export const WARM: Palette = { skyTop: '#f7b267', skyBottom: '#f25c54', shirt: '#2b4c7e', hair: '#3b2418' };
/** Cool palette: the replacement. */
export const COOL: Palette = { skyTop: '#5bc0be', skyBottom: '#1c7c8c', shirt: '#c0392b', hair: '#d9b26f' };

/**
 * A 1600×1200 JPEG portrait (about 0.3–0.6 MB) with camera metadata.
 * @example
 * ```ts
 * const bytes = await portraitJpeg(WARM);
 * ```
 */
export async function portraitJpeg(palette: Palette, width = 1600, height = 1200): Promise<Buffer> {
  const scene = await sharp(Buffer.from(portraitSvg(palette, width, height)))
    .blur(1.2)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const noise = await sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 18 } },
  })
    .png()
    .toBuffer();
  return sharp(scene.data, { raw: scene.info })
    .composite([{ input: noise, blend: 'soft-light' }])
    .jpeg({ quality: 90, mozjpeg: false })
    .withExif({ IFD0: { Make: 'Portrait Test Camera', Model: 'E2E-1', Software: 'profile-picture e2e' } })
    .toBuffer();
}

/** A phone photo over the default 5 MiB limit, and where its pixels come from. */
export interface PhonePhoto {
  bytes: Buffer;
  /** `real camera photo (…)` or `SYNTHETIC …` when the real one could not be fetched. */
  source: string;
}

/**
 * A 12 MP (4032×3024) phone-style JPEG of about 6.4 MB, over the default 5 MiB limit: the bench's real camera photo
 * (a Sony RX100 IV shot from Debian's `mate-backgrounds`, fetched and cached under `bench/.tmp/` by
 * bench/lib/photos.mjs) cropped to 12 MP, tagged Display P3, encoded at quality 96 with its camera EXIF and
 * orientation 6 (stored sideways, shown upright), as a phone writes a portrait shot. Without the archive it falls
 * back to a generated portrait of the same size and says so.
 */
export async function phonePhoto(): Promise<PhonePhoto> {
  const fetched = await fetchPhotos(join(import.meta.dirname, '..', '..', 'bench', '.tmp'), () => {});
  if (fetched.photos) {
    const bytes = await phoneStyle(fetched.photos.sony.bytes, 96);
    return { bytes, source: `real camera photo (${fetched.photos.sony.source as string})` };
  }
  console.warn(`[e2e] real photo unavailable (${fetched.error as string}): using a SYNTHETIC 12 MP portrait`);
  const portrait = await portraitJpeg(WARM, 4032, 3024);
  const bytes = await sharp(portrait).keepExif().withMetadata({ orientation: 6 }).jpeg({ quality: 98 }).toBuffer();
  return { bytes, source: 'SYNTHETIC 12 MP portrait' };
}

/** The first `fraction` of `bytes`: a JPEG cut off mid-stream (valid signature, damaged image). */
export function truncated(bytes: Buffer, fraction = 0.45): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * fraction));
}

/** A text file, to be uploaded under an image name. */
export const NOT_AN_IMAGE = Buffer.from('Shopping list: milk, eggs, bread.\nThis is not a photo.\n'.repeat(40));

// --- internal ---

function portraitSvg({ skyTop, skyBottom, shirt, hair }: Palette, w: number, h: number): string {
  const cx = w / 2;
  const head = h * 0.2;
  const bokeh = Array.from({ length: 14 }, (_, i) => {
    const x = ((i * 373) % 97) / 97;
    const y = ((i * 211) % 89) / 89;
    return `<circle cx="${(x * w).toFixed(0)}" cy="${(y * h * 0.7).toFixed(0)}" r="${(30 + ((i * 17) % 60)).toFixed(0)}" fill="#ffffff" opacity="${(0.08 + (i % 4) * 0.04).toFixed(2)}"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0.3" y2="1">
      <stop offset="0" stop-color="${skyTop}"/><stop offset="1" stop-color="${skyBottom}"/>
    </linearGradient>
    <radialGradient id="skin" cx="0.42" cy="0.38" r="0.7">
      <stop offset="0" stop-color="#f8d9c0"/><stop offset="0.7" stop-color="#e0a985"/><stop offset="1" stop-color="#b97a5a"/>
    </radialGradient>
    <linearGradient id="shirt" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="${shirt}"/><stop offset="1" stop-color="#111827"/>
    </linearGradient>
  </defs>
  <rect width="${w}" height="${h}" fill="url(#sky)"/>
  ${bokeh}
  <ellipse cx="${cx}" cy="${h * 1.02}" rx="${w * 0.27}" ry="${h * 0.3}" fill="url(#shirt)"/>
  <rect x="${cx - head * 0.32}" y="${h * 0.5}" width="${head * 0.64}" height="${h * 0.2}" rx="${head * 0.2}" fill="#d49a78"/>
  <ellipse cx="${cx}" cy="${h * 0.42}" rx="${head * 0.82}" ry="${head}" fill="url(#skin)"/>
  <path d="M ${cx - head * 0.9} ${h * 0.42} C ${cx - head} ${h * 0.12}, ${cx + head} ${h * 0.12}, ${cx + head * 0.9} ${h * 0.42}
    C ${cx + head * 0.7} ${h * 0.26}, ${cx - head * 0.5} ${h * 0.22}, ${cx - head * 0.9} ${h * 0.42} Z" fill="${hair}"/>
  <ellipse cx="${cx - head * 0.32}" cy="${h * 0.43}" rx="${head * 0.09}" ry="${head * 0.06}" fill="#2d1b12"/>
  <ellipse cx="${cx + head * 0.32}" cy="${h * 0.43}" rx="${head * 0.09}" ry="${head * 0.06}" fill="#2d1b12"/>
  <path d="M ${cx - head * 0.3} ${h * 0.52} Q ${cx} ${h * 0.57} ${cx + head * 0.3} ${h * 0.52}" stroke="#9c4a3a"
    stroke-width="${head * 0.05}" fill="none" stroke-linecap="round"/>
</svg>`;
}
