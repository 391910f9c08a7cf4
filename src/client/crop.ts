/**
 * The crop square's geometry, free of the DOM: a rectangle in source pixels after EXIF orientation (the coordinates
 * the server's `crop_*` fields use), kept inside the image and between the shortest allowed side and the image's
 * short side. Values stay fractional while the user pans and zooms, so slow drags are smooth; {@link roundCrop}
 * makes the integers that are sent.
 */

/** A rectangle in source pixels after EXIF orientation. */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The image a crop is taken from and the bounds of the square's side. */
export interface CropBounds {
  /** Displayed (EXIF-oriented) width in pixels. */
  width: number;
  /** Displayed (EXIF-oriented) height in pixels. */
  height: number;
  /** Shortest side the square may shrink to (the server's `minSide`, or more: see {@link cropBounds}). */
  minSide: number;
}

/**
 * Zooming further than this shows so few source pixels that the avatar would only be blur; the server's own
 * `minSide` (often 16) is far below that on a photo.
 */
const MAX_ZOOM = 10;

/** The bounds for an image of `width` × `height` when the server refuses crops shorter than `minSide`. */
export function cropBounds(width: number, height: number, minSide: number): CropBounds {
  const short = Math.min(width, height);
  return { width, height, minSide: Math.min(short, Math.max(1, minSide, Math.ceil(short / MAX_ZOOM))) };
}

/** The largest centred square: what the server takes when no crop is sent (with its default `position`). */
export function fullCrop(bounds: CropBounds): CropRect {
  const side = Math.min(bounds.width, bounds.height);
  return { left: (bounds.width - side) / 2, top: (bounds.height - side) / 2, width: side, height: side };
}

/** `rect` moved by `dx`, `dy` source pixels, stopped at the image's edges. */
export function moveCrop(rect: CropRect, dx: number, dy: number, bounds: CropBounds): CropRect {
  return clampCrop({ ...rect, left: rect.left + dx, top: rect.top + dy }, bounds);
}

/**
 * `rect` zoomed by `factor` (> 1 zooms in: a smaller square) around the source point `anchor` (default: its centre),
 * which stays at the same place in the frame; the side is kept between `bounds.minSide` and the image's short side.
 */
export function zoomCrop(rect: CropRect, factor: number, bounds: CropBounds, anchor?: { x: number; y: number }): CropRect {
  const short = Math.min(bounds.width, bounds.height);
  const side = Math.min(short, Math.max(bounds.minSide, rect.width / factor));
  const x = anchor?.x ?? rect.left + rect.width / 2;
  const y = anchor?.y ?? rect.top + rect.height / 2;
  const ratio = side / rect.width;
  return clampCrop({ left: x - (x - rect.left) * ratio, top: y - (y - rect.top) * ratio, width: side, height: side }, bounds);
}

/** The zoom of `rect`: 1 for the full square, `short side / minSide` at most. */
export function cropZoom(rect: CropRect, bounds: CropBounds): number {
  return Math.min(bounds.width, bounds.height) / rect.width;
}

/** The largest zoom `bounds` allow. */
export function maxZoom(bounds: CropBounds): number {
  return Math.min(bounds.width, bounds.height) / bounds.minSide;
}

/** `rect` in whole pixels, still a square inside the image and no shorter than `bounds.minSide`. */
export function roundCrop(rect: CropRect, bounds: CropBounds): CropRect {
  const side = Math.min(Math.max(Math.round(rect.width), bounds.minSide), bounds.width, bounds.height);
  const left = Math.min(Math.max(Math.round(rect.left), 0), bounds.width - side);
  const top = Math.min(Math.max(Math.round(rect.top), 0), bounds.height - side);
  return { left, top, width: side, height: side };
}

/** The multipart fields the server reads a crop from (`crop_left`, …), all strings of integers. */
export function cropFields(rect: CropRect): Record<string, string> {
  return {
    crop_left: String(rect.left),
    crop_top: String(rect.top),
    crop_width: String(rect.width),
    crop_height: String(rect.height),
  };
}

// --- internal ---

function clampCrop(rect: CropRect, bounds: CropBounds): CropRect {
  return {
    ...rect,
    left: Math.min(Math.max(rect.left, 0), bounds.width - rect.width),
    top: Math.min(Math.max(rect.top, 0), bounds.height - rect.height),
  };
}
