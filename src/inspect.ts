/**
 * Decides whether bytes are an image we accept, by content only: a magic-byte sniff of a bounded prefix against the
 * allowlist, then a header probe (dimensions, pixel limit) before anything is decoded. Formats outside the
 * allowlist — SVG above all — never reach the decoder.
 */
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { decodeBmp, readBmpHeader, unsupportedBmpFeature } from './codecs/bmp.js';
import { canDecodeHevc } from './codecs/heic.js';
import type { ErrorDetails, ErrorFactory } from './errors.js';
import type { InputFormat } from './options.js';
import { normalizeOrientation, swapsSides } from './orientation.js';

/** How many leading bytes the sniff looks at (file-type's own recommendation). */
const SNIFF_BYTES = 4100;

const FORMAT_BY_EXT: Record<string, InputFormat> = {
  jpg: 'jpeg',
  png: 'png',
  apng: 'png',
  gif: 'gif',
  bmp: 'bmp',
  webp: 'webp',
  avif: 'avif',
  tif: 'tiff',
  heic: 'heif',
};

/** What sharp's `metadata().format` must say for each sniffed format (AVIF is read by the HEIF loader). */
const SHARP_FORMAT: Record<InputFormat, string> = {
  jpeg: 'jpeg',
  png: 'png',
  gif: 'gif',
  bmp: 'raw',
  webp: 'webp',
  avif: 'heif',
  tiff: 'tiff',
  heif: 'heif',
};

/**
 * Most pixels a BMP may have (2048 × 2048). Every 24- and 32-bit BMP under the default 5 MiB limit fits; larger
 * palette BMPs are refused with `IMAGE_TOO_LARGE` rather than decoded on the event loop.
 */
export const BMP_MAX_PIXELS = 2048 * 2048;

/** An accepted image, probed but not yet decoded (except BMP, whose decode is its probe). */
export interface InspectedImage {
  format: InputFormat;
  /** Width after EXIF orientation. */
  width: number;
  /** Height after EXIF orientation. */
  height: number;
  /** EXIF orientation of the stored pixels, 1–8 (1 when there is none): {@link open} does not apply it. */
  orientation: number;
  /**
   * A sharp pipeline over the source's first frame as stored (not oriented), with the pixel limit applied.
   * `ignoreIcc` leaves an embedded profile unapplied at the decode (see colour-after-resize.ts).
   */
  open(options?: { ignoreIcc?: boolean }): Sharp;
  /** Frames (pages) the header declares: more than 1 for an animated GIF or WebP. Counted, not decoded. */
  frames: number;
  /**
   * A sharp pipeline over every frame, as one strip of `frames` pages; sharp refuses more than `maxPixels` in total
   * (all frames) before decoding. Present only when `frames > 1`.
   */
  openFrames?(maxPixels: number): Sharp;
  /**
   * The source embeds an ICC profile on 8-bit RGB(A) pixels, so a decode that downscales may convert its colours
   * after the resize, on far fewer pixels (see colour-after-resize.ts). False for no profile, CMYK, greyscale and
   * 16-bit sources.
   */
  rgbProfile?: boolean;
  /**
   * The source is 16-bit RGB with an embedded ICC profile (a 16-bit PNG or TIFF, a 10/12-bit AVIF), which sharp would
   * convert into its 16-bit working space, Display P3, rather than sRGB (see `withSrgbWorkingSpace` in render.ts).
   */
  rgb16Profile?: boolean;
}

/** The limits {@link inspectImage} enforces (the service passes its resolved `limits` and `accept`). */
export interface InspectLimits {
  accept: readonly InputFormat[];
  inputPixels: number;
  minSide: number;
}

/**
 * Sniffs, allowlists and probes `bytes`.
 * @throws ProfilePictureError `NO_FILE`, `UNSUPPORTED_TYPE`, `NOT_AN_IMAGE`, `CORRUPT_IMAGE`, `IMAGE_TOO_LARGE`,
 *   `IMAGE_TOO_SMALL`.
 */
export async function inspectImage(bytes: Uint8Array, limits: InspectLimits, fail: ErrorFactory): Promise<InspectedImage> {
  if (bytes.byteLength === 0) throw fail('NO_FILE');
  const format = await sniff(bytes, limits.accept, fail);
  return format === 'bmp' ? probeBmp(bytes, limits, fail) : probeWithSharp(bytes, format, limits, fail);
}

// --- internal ---

async function sniff(bytes: Uint8Array, accept: readonly InputFormat[], fail: ErrorFactory): Promise<InputFormat> {
  const head = bytes.subarray(0, SNIFF_BYTES);
  let detected = await fileTypeFromBuffer(head);
  // file-type follows a TIFF's first directory to tell it from a camera raw (CR2, NEF, DNG), and libvips, like many
  // writers, puts that directory after the pixels: beyond the head of any TIFF larger than a thumbnail.
  if (!detected && isTiffHeader(head)) detected = await fileTypeFromBuffer(bytes);
  // file-type does not detect SVG (it says nothing, or `xml` after a prolog); name it so the client learns why its
  // "image" was refused. Either way SVG ends here, before any decoder.
  if ((!detected || detected.ext === 'xml') && looksLikeSvg(head)) {
    throw fail('UNSUPPORTED_TYPE', { details: { detected: 'image/svg+xml', accepted: accept.join(', ') } });
  }
  if (!detected) throw fail('NOT_AN_IMAGE');
  const format = FORMAT_BY_EXT[detected.ext];
  if (!format || !accept.includes(format)) {
    const details: ErrorDetails = { detected: detected.mime, accepted: accept.join(', ') };
    // `format: 'heic'` picks the message that says how to get a JPEG out of an iPhone instead.
    if (detected.ext === 'heic') details.format = 'heic';
    throw fail('UNSUPPORTED_TYPE', { details });
  }
  return format;
}

/** The byte-order mark and magic number 42 every classic TIFF starts with ("II*\0" or "MM\0*"). */
function isTiffHeader(head: Uint8Array): boolean {
  const [a, b, c, d] = head;
  return (a === 0x49 && b === 0x49 && c === 0x2a && d === 0x00) || (a === 0x4d && b === 0x4d && c === 0x00 && d === 0x2a);
}

function looksLikeSvg(head: Uint8Array): boolean {
  return /<svg[\s>]/i.test(Buffer.from(head).toString('latin1'));
}

function checkSize(width: number, height: number, limits: InspectLimits, fail: ErrorFactory): void {
  if (!(width > 0 && height > 0)) throw fail('CORRUPT_IMAGE');
  if (width * height > limits.inputPixels) {
    throw fail('IMAGE_TOO_LARGE', { details: { width, height, limit: limits.inputPixels } });
  }
  if (Math.min(width, height) < limits.minSide) {
    throw fail('IMAGE_TOO_SMALL', { details: { width, height, minSide: limits.minSide } });
  }
}

function probeBmp(bytes: Uint8Array, limits: InspectLimits, fail: ErrorFactory): InspectedImage {
  const header = readBmpHeader(bytes);
  if (!header) throw fail('CORRUPT_IMAGE');
  // Size first: a header that declares a bomb is refused before any pixel memory exists. BMP is decoded in
  // JavaScript on the main thread (~20 ns and ~9 bytes per pixel), and 1-bit BMPs pack 8 pixels per byte, so a
  // file under the size limit could still stall the event loop for a second: BMP gets its own, lower cap.
  checkSize(header.width, header.height, { ...limits, inputPixels: Math.min(limits.inputPixels, BMP_MAX_PIXELS) }, fail);
  const unsupported = unsupportedBmpFeature(header);
  if (unsupported) throw fail('UNSUPPORTED_TYPE', { details: { detected: 'image/bmp', feature: unsupported } });
  let raw;
  try {
    raw = decodeBmp(bytes, header);
  } catch (cause) {
    throw fail('CORRUPT_IMAGE', { cause });
  }
  const { data, width, height, channels } = raw;
  return { format: 'bmp', width, height, orientation: 1, frames: 1, open: () => sharp(data, { raw: { width, height, channels } }) };
}

async function probeWithSharp(
  bytes: Uint8Array,
  format: InputFormat,
  limits: InspectLimits,
  fail: ErrorFactory,
): Promise<InspectedImage> {
  // First frame only (animated GIF/WebP); `failOn: 'warning'` turns truncation into an error at decode time.
  const sharpOptions: SharpOptions = { limitInputPixels: limits.inputPixels, failOn: 'warning', pages: 1 };
  let meta;
  try {
    // metadata() reads the header only. Its own pixel limit is lifted so that a bomb is reported by checkSize() as
    // IMAGE_TOO_LARGE rather than as an opaque sharp error; the decode in open() keeps the limit as a second guard.
    meta = await sharp(bytes, { ...sharpOptions, limitInputPixels: false }).metadata();
  } catch (cause) {
    throw fail('CORRUPT_IMAGE', { cause });
  }
  // The decoder must agree with the sniff; anything else is a polyglot or a lie.
  if (meta.format !== SHARP_FORMAT[format]) throw fail('CORRUPT_IMAGE', { details: { detected: format } });
  const frameHeight = meta.pageHeight ?? meta.height;
  if (meta.width === undefined || frameHeight === undefined) throw fail('CORRUPT_IMAGE');
  // An iPhone's HEIC is HEVC-coded; sharp's prebuilt libheif decodes only AV1. Refusing it here says what to do,
  // where the decode would fail later as an opaque CORRUPT_IMAGE.
  if (meta.compression === 'hevc' && !(await canDecodeHevc())) {
    throw fail('UNSUPPORTED_TYPE', { details: { detected: 'image/heic', accepted: limits.accept.join(', '), format: 'heic' } });
  }
  checkSize(meta.width, frameHeight, limits, fail);
  const orientation = normalizeOrientation(meta.orientation);
  const swap = swapsSides(orientation);
  // The frame count comes from the header: GIF and WebP frame headers are walked, their pixels left undecoded.
  const frames = meta.pages ?? 1;
  return {
    format,
    width: swap ? frameHeight : meta.width,
    height: swap ? meta.width : frameHeight,
    orientation,
    // Only `ignoreIcc` is taken from the caller: the limits above stay whatever is passed.
    open: (options) => sharp(bytes, { ...sharpOptions, ignoreIcc: options?.ignoreIcc === true }),
    frames,
    rgbProfile: meta.hasProfile === true && meta.space === 'srgb' && meta.depth === 'uchar' && (meta.channels === 3 || meta.channels === 4),
    rgb16Profile: meta.hasProfile === true && meta.space === 'rgb16',
    ...(frames > 1 ? { openFrames: (maxPixels: number) => sharp(bytes, { ...sharpOptions, pages: -1, limitInputPixels: maxPixels }) } : {}),
  };
}
