/**
 * Every string the widget shows, in one object so an app can translate or reword them
 * (`element.messages = { uploaded: 'Photo enregistrée.' }`). Server errors are shown with the server's own message,
 * which the app customises through the core's `messages` option.
 */

/** Facts a message can use; sizes are already formatted ("4.2 MiB"). */
export interface MessageFacts {
  /** Accepted formats in words: "JPEG, PNG, GIF, BMP or WebP". */
  types: string;
  /** Largest accepted size, formatted; empty when the server's limit is not known. */
  limit: string;
  /** Size of the chosen file, formatted. */
  size: string;
  /** Shortest accepted side in pixels. */
  minSide: number;
  /** Upload progress 0–100. */
  percent: number;
  /** HTTP status of a failed response. */
  status: number;
  /** Name of the chosen file (display only). */
  name: string;
  /** Crop zoom in percent (100: the whole short side). */
  zoom: number;
  /** Crop square's side in source pixels. */
  side: number;
  /** Crop square's left edge in source pixels. */
  left: number;
  /** Crop square's top edge in source pixels. */
  top: number;
}

/** A message: fixed text or a function of {@link MessageFacts}. */
export type Message = string | ((facts: MessageFacts) => string);

/** The widget's texts. */
export interface UploadMessages {
  prompt: Message;
  /** Replaces `prompt` (and `promptAction`) on touch screens, where there is nothing to drag. */
  touchPrompt: Message;
  dropHere: Message;
  promptAction: Message;
  hint: Message;
  selected: Message;
  willShrink: Message;
  upload: Message;
  cancel: Message;
  preparing: Message;
  started: Message;
  uploading: Message;
  processing: Message;
  uploaded: Message;
  noPreview: Message;
  empty: Message;
  tooLarge: Message;
  /**
   * A 413 without the server's JSON: a proxy in front of the app (nginx's `client_max_body_size`, 1 MiB by default)
   * refused a body its limit is below `maxFileSize`; `size` is what was sent.
   */
  tooLargeForServer: Message;
  unsupported: Message;
  /** Replaces `unsupported` for an HEIC photo (an iPhone's default), whose fix is a setting on the phone. */
  heic: Message;
  notAnImage: Message;
  tooSmall: Message;
  oneFile: Message;
  network: Message;
  /** The upload was stopped after `stall-timeout` seconds without progress or an answer; the file stays chosen. */
  stalled: Message;
  aborted: Message;
  failed: Message;
  /** Accessible name of the crop area. */
  crop: Message;
  /** How to use the crop area, shown under it. */
  cropHelp: Message;
  /** Replaces `cropHelp` on touch screens. */
  touchCropHelp: Message;
  /** Accessible name of the zoom slider. */
  zoom: Message;
  /** The zoom slider's value, as read by screen readers. */
  zoomValue: Message;
  /** Announced after the crop was moved or zoomed. */
  cropChanged: Message;
}

/** The default (English) texts. */
export const DEFAULT_MESSAGES: Readonly<UploadMessages> = Object.freeze<UploadMessages>({
  prompt: 'Drag a photo here',
  touchPrompt: 'Tap to choose a photo',
  dropHere: 'Drop it to see a preview',
  promptAction: 'or click to choose a file',
  hint: ({ types, limit }) => (limit ? `${types} · up to ${limit}` : types),
  selected: ({ name, size }) => `${name} (${size}) is ready to upload.`,
  willShrink: ({ limit }) => `It will be made smaller than ${limit} before uploading.`,
  upload: 'Upload picture',
  cancel: 'Cancel',
  preparing: 'Preparing photo…',
  started: ({ name }) => `Uploading ${name}…`,
  uploading: ({ percent }) => `Uploading… ${percent}%`,
  processing: 'Processing…',
  uploaded: 'Your profile picture has been updated.',
  noPreview: 'No preview: the server will check this file.',
  empty: 'This file is empty. Choose another one.',
  tooLarge: ({ size, limit }) => `This file is ${size}; the limit is ${limit}. Choose a smaller one.`,
  tooLargeForServer: ({ size }) => `This file (${size}) is too large for the server. Choose a smaller one.`,
  unsupported: ({ types }) => `This image format is not supported. Choose a ${types} file.`,
  heic: 'This is an HEIC photo (the iPhone default), which cannot be uploaded here. Choose a JPEG, or set the iPhone camera to "Most Compatible" (Settings → Camera → Formats).',
  notAnImage: ({ types }) => `This file is not an image. Choose a ${types} file.`,
  tooSmall: ({ minSide }) => `This image is too small: it must be at least ${minSide}×${minSide} pixels.`,
  oneFile: 'Drop one file at a time.',
  network: 'The upload failed: check your connection and try again.',
  stalled: 'The upload stalled: nothing got through for too long, so it was stopped. Check your connection and try again.',
  aborted: 'Upload cancelled.',
  failed: ({ status }) => `The upload failed (HTTP ${status}). Please try again.`,
  crop: 'Crop area',
  cropHelp: 'Drag the photo, or use the arrow keys, to choose what fits in the frame. Zoom with the slider or + and −; Home resets.',
  touchCropHelp: 'Drag the photo to choose what fits in the frame. Pinch or use the slider to zoom.',
  zoom: 'Zoom',
  zoomValue: ({ zoom }) => `${zoom}%`,
  cropChanged: ({ zoom, side, left, top }) => `Zoom ${zoom}%: a ${side}-pixel square from ${left}, ${top}.`,
});

/** Resolves `message` with `facts`. */
export function formatMessage(message: Message, facts: MessageFacts): string {
  return typeof message === 'function' ? message(facts) : message;
}

/**
 * "1.5 MiB", "820 KiB", "12 bytes". Binary units under their binary names, because limits are usually configured as
 * `5 * 1024 * 1024`: that is "5 MiB", and calling it "5 MB" would understate it by 5 %. (The server's messages use
 * the same units; this bundle keeps its own copy so it stays one self-contained file.)
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  const mib = bytes / (1024 * 1024);
  return `${mib < 10 ? mib.toFixed(1).replace(/\.0$/, '') : Math.round(mib)} MiB`;
}

const TYPE_NAMES: Record<string, string> = {
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/gif': 'GIF',
  'image/bmp': 'BMP',
  'image/webp': 'WebP',
  'image/avif': 'AVIF',
  'image/heic': 'HEIC',
  'image/tiff': 'TIFF',
};

/** "JPEG, PNG or WebP" for a list of MIME types. */
export function describeTypes(types: readonly string[]): string {
  const names = types.map((type) => TYPE_NAMES[type] ?? type.replace(/^image\//, '').toUpperCase());
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
