/**
 * EXIF orientation, applied after shrinking instead of before.
 *
 * sharp's `autoOrient()` rotates the decoded source before it resizes. For a 90° rotation libvips must buffer and
 * transpose the whole shrink-on-load image (about 1000 × 750 for a 12 MP photo), ~5 % of the render. Instead the
 * pipeline decodes, crops and resizes in stored pixels and only the small intermediate is turned. Rectangles the
 * caller or the cover crop define in displayed (oriented) pixels are mapped to stored pixels here, with sharp's own
 * rounding, so the result is pixel-identical to orienting first (test/unit/orientation.test.ts).
 */
import type { Sharp } from 'sharp';

/** A rectangle in pixels. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** sharp operations that turn stored pixels into displayed ones, per EXIF orientation (1–8). */
const OPERATIONS: Record<number, { rotate: 0 | 90 | 180 | 270; flip: boolean; flop: boolean }> = {
  1: { rotate: 0, flip: false, flop: false },
  2: { rotate: 0, flip: false, flop: true },
  3: { rotate: 180, flip: false, flop: false },
  4: { rotate: 0, flip: true, flop: false },
  5: { rotate: 90, flip: true, flop: false },
  6: { rotate: 90, flip: false, flop: false },
  7: { rotate: 90, flip: false, flop: true },
  8: { rotate: 270, flip: false, flop: false },
};

/** The EXIF orientation to honour: 1–8, anything else (absent, corrupt) means 1, as sharp itself treats it. */
export function normalizeOrientation(value: number | undefined): number {
  return value !== undefined && Number.isInteger(value) && value >= 1 && value <= 8 ? value : 1;
}

/** True when the orientation swaps width and height (5–8). */
export function swapsSides(orientation: number): boolean {
  return orientation >= 5;
}

/** Adds to `pipeline` the operations that display pixels stored with `orientation`. */
export function applyOrientation(pipeline: Sharp, orientation: number): Sharp {
  const { rotate, flip, flop } = OPERATIONS[orientation] ?? OPERATIONS[1]!;
  let oriented = pipeline;
  if (rotate !== 0) oriented = oriented.rotate(rotate);
  if (flip) oriented = oriented.flip();
  if (flop) oriented = oriented.flop();
  return oriented;
}

type PointMap = (x: number, y: number, width: number, height: number) => [number, number];

/** Displayed point → stored point, in continuous coordinates (pixel edges), for an image stored as width × height. */
const TO_STORED: Record<number, PointMap> = {
  1: (x, y) => [x, y],
  2: (x, y, w) => [w - x, y],
  3: (x, y, w, h) => [w - x, h - y],
  4: (x, y, _w, h) => [x, h - y],
  5: (x, y) => [y, x],
  6: (x, y, _w, h) => [y, h - x],
  7: (x, y, w, h) => [w - y, h - x],
  8: (x, y, w) => [w - y, x],
};

/** Displayed point → stored point (continuous coordinates) for an image stored as width × height with `orientation`. */
export function toStoredPoint(orientation: number): PointMap {
  return TO_STORED[orientation] ?? TO_STORED[1]!;
}

/**
 * Maps `rect`, in displayed pixels of an image stored as `storedWidth` × `storedHeight` with `orientation`, to the
 * same region in stored pixels.
 */
export function toStoredRect(rect: Rect, orientation: number, storedWidth: number, storedHeight: number): Rect {
  const toStored = TO_STORED[orientation] ?? TO_STORED[1]!;
  const [x1, y1] = toStored(rect.left, rect.top, storedWidth, storedHeight);
  const [x2, y2] = toStored(rect.left + rect.width, rect.top + rect.height, storedWidth, storedHeight);
  return { left: Math.min(x1, x2), top: Math.min(y1, y2), width: Math.abs(x2 - x1), height: Math.abs(y2 - y1) };
}

/**
 * The centred `side` × `side` square that sharp's cover crop (`position: 'centre'`) takes from an image displayed
 * with `orientation`, as a rectangle in the stored pixels of that image (`storedWidth` × `storedHeight`, both at
 * least `side`). sharp puts the odd pixel of an odd excess before the square: offset = ⌈excess / 2⌉.
 */
export function centredSquare(side: number, orientation: number, storedWidth: number, storedHeight: number): Rect {
  const swap = swapsSides(orientation);
  const displayedWidth = swap ? storedHeight : storedWidth;
  const displayedHeight = swap ? storedWidth : storedHeight;
  const displayed = {
    left: Math.floor((displayedWidth - side + 1) / 2),
    top: Math.floor((displayedHeight - side + 1) / 2),
    width: side,
    height: side,
  };
  return toStoredRect(displayed, orientation, storedWidth, storedHeight);
}
