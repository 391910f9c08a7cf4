/**
 * The crop step's interaction: the photo behind a square frame (its mask drawn by CSS), panned by dragging with a
 * mouse, pen or finger, zoomed by the slider, the wheel or a pinch, and operable from the keyboard (arrows move the
 * frame over the photo, + and − zoom, Home resets). Positions are set through the CSSOM (`element.style.transform`),
 * which a Content-Security-Policy without `'unsafe-inline'` allows; no `style` attribute is ever written.
 */
import {
  cropBounds,
  cropZoom,
  fullCrop,
  maxZoom,
  moveCrop,
  roundCrop,
  zoomCrop,
  type CropBounds,
  type CropRect,
} from './crop.js';
import type { MessageFacts, UploadMessages } from './messages.js';

/** The shadow-tree elements the crop step uses. */
export interface CropParts {
  /** The whole step, hidden when there is nothing to crop. */
  box: HTMLElement;
  /** The focusable, draggable square the photo shows through. */
  stage: HTMLElement;
  /** The photo inside the stage. */
  image: HTMLImageElement;
  /** The crop square inside the stage (its mask is drawn around it by CSS). */
  frame: HTMLElement;
  zoom: HTMLInputElement;
  /** A live region for what keyboard and pointer moves did. */
  live: HTMLElement;
  /** The small result preview and its photo. */
  preview: HTMLElement;
  previewImage: HTMLImageElement;
}

/** What the crop step needs from the element. */
export interface CropHost {
  /** A message with extra facts. */
  text(key: keyof UploadMessages, extra?: Partial<MessageFacts>): string;
}

/** The crop step of one widget. */
export interface CropView {
  /** Shows the crop step for the decoded photo at `url` (oriented `width` × `height`), starting at the full square. */
  open(url: string, width: number, height: number, minSide: number): void;
  /** Hides the crop step and forgets the photo. */
  close(): void;
  /**
   * The crop to send, in whole source pixels after EXIF orientation, or null when the user left the initial full
   * square (the server then picks the square itself, with its `position` option).
   */
  rect(): CropRect | null;
  /** Re-reads the texts (labels, the zoom's value text) after messages changed. */
  refresh(): void;
}

/** One arrow key press moves the frame by this share of its side (Shift: four times as far). */
const PAN_STEP = 0.05;
/** One + or − press zooms by this factor. */
const ZOOM_STEP = 1.2;
/** Wheel zoom per pixel of `deltaY` (a mouse notch is about 100 px: about ×1.22). */
const WHEEL_RATE = 0.002;
/** Announcements wait for this pause, so a held-down key is read once, not forty times. */
const ANNOUNCE_DELAY = 400;

/**
 * Wires the crop step's events on `parts`.
 * @example
 * ```ts
 * const crop = createCropView(parts, { text: (key, extra) => format(messages[key], { ...facts, ...extra }) });
 * crop.open(objectUrl, 4032, 3024, 16);
 * ```
 */
export function createCropView(parts: CropParts, host: CropHost): CropView {
  const { box, stage, image, frame, zoom, live, preview, previewImage } = parts;
  let bounds: CropBounds | null = null;
  let crop: CropRect | null = null;
  let changed = false;
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  const pointers = new Map<number, { x: number; y: number }>();

  const facts = (): Partial<MessageFacts> => {
    const rounded = roundCrop(crop!, bounds!);
    return { zoom: Math.round(cropZoom(crop!, bounds!) * 100), side: rounded.width, left: rounded.left, top: rounded.top };
  };

  const render = () => {
    if (!bounds || !crop) return;
    place(image, crop, frame.clientWidth, frame.offsetLeft, frame.offsetTop);
    place(previewImage, crop, preview.clientWidth, 0, 0);
    const { zoom: percent } = facts();
    zoom.value = String(percent);
    zoom.setAttribute('aria-valuetext', host.text('zoomValue', facts()));
  };

  const update = (next: CropRect, announce: boolean) => {
    crop = next;
    changed = true;
    render();
    clearTimeout(announceTimer);
    if (announce) announceTimer = setTimeout(() => (live.textContent = host.text('cropChanged', facts())), ANNOUNCE_DELAY);
  };

  /** The source point under the stage point `x`, `y` (CSS pixels from the stage's corner). */
  const sourceAt = (x: number, y: number) => {
    const scale = frame.clientWidth / crop!.width;
    return { x: crop!.left + (x - frame.offsetLeft) / scale, y: crop!.top + (y - frame.offsetTop) / scale };
  };
  const stagePoint = (event: { clientX: number; clientY: number }) => {
    const box = stage.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };
  /** Centre of the active pointers, and their spread (distance between the first two) for pinching. */
  const gesture = () => {
    const points = [...pointers.values()];
    const x = points.reduce((sum, p) => sum + p.x, 0) / points.length;
    const y = points.reduce((sum, p) => sum + p.y, 0) / points.length;
    const spread = points.length > 1 ? Math.hypot(points[0]!.x - points[1]!.x, points[0]!.y - points[1]!.y) : 0;
    return { x, y, spread, count: points.length };
  };

  stage.addEventListener('pointerdown', (event) => {
    if (!crop || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault(); // no text selection or native image drag; focus is given below instead
    stage.focus({ preventScroll: true });
    stage.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, stagePoint(event));
  });
  stage.addEventListener('pointermove', (event) => {
    if (!crop || !bounds || !pointers.has(event.pointerId)) return;
    const before = gesture();
    pointers.set(event.pointerId, stagePoint(event));
    const after = gesture();
    if (before.count !== after.count) return;
    // The source point under the gesture's centre stays under it: one finger pans, two also zoom by their spread.
    const factor = after.count > 1 && before.spread > 0 ? after.spread / before.spread : 1;
    const zoomed = zoomCrop(crop, factor, bounds, sourceAt(before.x, before.y));
    const scale = frame.clientWidth / zoomed.width;
    update(moveCrop(zoomed, (before.x - after.x) / scale, (before.y - after.y) / scale, bounds), false);
  });
  const release = (event: PointerEvent) => {
    if (!pointers.delete(event.pointerId) || !crop) return;
    if (pointers.size === 0 && changed) update(crop, true);
  };
  stage.addEventListener('pointerup', release);
  stage.addEventListener('pointercancel', release);
  stage.addEventListener(
    'wheel',
    (event) => {
      if (!crop || !bounds) return;
      event.preventDefault(); // zoom the photo, not scroll the page
      const pixels = event.deltaY * (event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1);
      const point = stagePoint(event);
      update(zoomCrop(crop, Math.exp(-pixels * WHEEL_RATE), bounds, sourceAt(point.x, point.y)), true);
    },
    { passive: false },
  );
  stage.addEventListener('keydown', (event) => {
    if (!crop || !bounds || event.altKey || event.ctrlKey || event.metaKey) return;
    const step = crop.width * PAN_STEP * (event.shiftKey ? 4 : 1);
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    let next: CropRect;
    if (event.key in moves) next = moveCrop(crop, ...moves[event.key]!, bounds);
    else if (event.key === '+' || event.key === '=') next = zoomCrop(crop, ZOOM_STEP, bounds);
    else if (event.key === '-' || event.key === '_') next = zoomCrop(crop, 1 / ZOOM_STEP, bounds);
    else if (event.key === 'Home') next = fullCrop(bounds);
    else return;
    event.preventDefault(); // arrows and Home would scroll the page
    update(next, true);
    if (event.key === 'Home') changed = false;
  });
  zoom.addEventListener('input', () => {
    if (!crop || !bounds) return;
    update(zoomCrop(crop, Number(zoom.value) / 100 / cropZoom(crop, bounds), bounds), false);
  });
  new ResizeObserver(render).observe(stage);

  const refresh = () => {
    stage.setAttribute('aria-label', host.text('crop'));
    zoom.setAttribute('aria-label', host.text('zoom'));
    render();
  };

  return {
    open(url, width, height, minSide) {
      bounds = cropBounds(width, height, minSide);
      crop = fullCrop(bounds);
      changed = false;
      image.src = url;
      zoom.min = '100';
      zoom.max = String(Math.floor(maxZoom(bounds) * 100));
      zoom.disabled = maxZoom(bounds) <= 1;
      box.hidden = false;
      preview.toggleAttribute('data-cropping', true);
      refresh();
    },
    close() {
      bounds = crop = null;
      changed = false;
      pointers.clear();
      clearTimeout(announceTimer);
      box.hidden = true;
      image.removeAttribute('src');
      live.textContent = '';
      preview.removeAttribute('data-cropping');
      previewImage.style.removeProperty('transform');
    },
    rect: () => (crop && bounds && changed ? roundCrop(crop, bounds) : null),
    refresh,
  };
}

// --- internal ---

/** Shows `crop` of `img` (at its natural, oriented size) in a `side`-pixel square whose corner is at `x`, `y`. */
function place(img: HTMLImageElement, crop: CropRect, side: number, x: number, y: number): void {
  const scale = side / crop.width;
  img.style.transform = `translate(${x - crop.left * scale}px, ${y - crop.top * scale}px) scale(${scale})`;
}
