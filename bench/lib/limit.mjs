/**
 * Contender L (limit): sharp alone, in this process, producing only the 512 px cover-cropped WebP from bytes already
 * in memory — one decode (with shrink-on-load) and one encode, nothing else. No contender can beat it; the gap to it
 * is everyone's overhead.
 */
import sharp from 'sharp';
import { closedLoop } from './load.mjs';

/** The single pipeline L runs: the largest variant, at the output settings P uses by default. */
export function renderLargest(bytes) {
  return sharp(bytes).rotate().resize(512, 512, { fit: 'cover' }).webp({ quality: 82 }).toBuffer();
}

/**
 * L in the same closed loop as the HTTP client (see {@link closedLoop} for the budget and steady modes).
 * @param {import('./load.mjs').PhaseOptions & { bytes: Buffer }} options
 * @returns {Promise<import('./load.mjs').LoadResult>}
 */
export function runLimit({ bytes, ...phase }) {
  return closedLoop(phase, async () => ({ ok: (await renderLargest(bytes)).length > 0, status: 'ok' }));
}
