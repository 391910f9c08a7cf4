/**
 * Default messages that say what the limit was, when an error carries the details to say it: "The file is larger
 * than 5 MiB." tells a user what to do where "The file is too large." does not. Without those details (or for codes
 * not listed here) the code's fixed message from `ERROR_CODES` applies. Apps reword or translate through the
 * `messages` option, which receives the same details.
 */
import type { ErrorCode, ErrorDetails } from './errors.js';

type Detailed = (details: ErrorDetails) => string | undefined;

const FORMAT_NAMES: Record<string, string> = { jpeg: 'JPEG', png: 'PNG', gif: 'GIF', bmp: 'BMP', webp: 'WebP', avif: 'AVIF', tiff: 'TIFF', heif: 'HEIF' };

/** HEIC is what iPhones save by default, so the fix is on the phone, not a file type the user chose. */
const HEIC_MESSAGE =
  'HEIC photos (the iPhone default) cannot be read here; choose a JPEG, or set the iPhone camera to "Most Compatible" (Settings → Camera → Formats).';

/** The backend calls (backend-call.ts) that only read. */
const READ_OPERATIONS: ReadonlySet<string> = new Set(['get', 'list', 'getPicture', 'listPictures']);

const DETAILED: Partial<Record<ErrorCode, Detailed>> = {
  FILE_TOO_LARGE: ({ limit }) => (typeof limit === 'number' ? `The file is larger than ${formatBytes(limit)}.` : undefined),
  IMAGE_TOO_LARGE: ({ limit, frames }) =>
    typeof limit !== 'number'
      ? undefined
      : typeof frames === 'number'
        ? `The animation is too long or too large (${frames} frames); choose a shorter or smaller one.`
        : `The image has more than ${formatPixels(limit)}; choose a smaller one.`,
  IMAGE_TOO_SMALL: ({ minSide }) =>
    typeof minSide === 'number' ? `The image is too small: it must be at least ${minSide} × ${minSide} pixels.` : undefined,
  UNSUPPORTED_TYPE: ({ accepted, format }) =>
    format === 'heic'
      ? HEIC_MESSAGE
      : typeof accepted === 'string' ? `This file type is not supported; choose a ${listFormats(accepted)} image.` : undefined,
  // A failed read (serving a picture, reading records, a listing) is no failure to store, whatever the code's name:
  // the message is what a log shows first. Clients of a 5xx get the code's fixed message either way (errors.ts).
  STORAGE_FAILED: ({ operation }) =>
    typeof operation === 'string' && READ_OPERATIONS.has(operation) ? 'The picture could not be read.' : undefined,
  TIMEOUT: ({ timeout }) =>
    typeof timeout === 'number' ? `The upload took longer than ${formatSeconds(timeout)}; try again on a faster connection.` : undefined,
  INVALID_CROP: ({ reason, minSide }) => {
    if (reason === 'too-small' && typeof minSide === 'number') return `The crop must be at least ${minSide} pixels wide and high.`;
    if (reason === 'outside') return 'The crop rectangle goes outside the image.';
    if (reason === 'not-an-integer') return 'The crop must be given in whole pixels.';
    if (reason === 'incomplete' || reason === 'repeated') return 'Send the four crop fields, each once, or none.';
    return undefined;
  },
  // The app's moderation hook words the reason; it is shown as given.
  REJECTED: ({ reason }) => (typeof reason === 'string' && reason.trim() !== '' ? `This picture was not accepted: ${reason}` : undefined),
  NOT_FOUND: ({ reason, userId }) => {
    if (reason === 'no-such-version') return 'There is no previous picture with this version.';
    if (reason === 'no-such-user' && typeof userId === 'string') return `There is no user with the id ${JSON.stringify(userId)}.`;
    return undefined;
  },
  // The admin's reason (`pictures.lock()`) is shown as given, like the moderation hook's.
  LOCKED: ({ reason }) => (typeof reason === 'string' && reason.trim() !== '' ? `Your profile picture is locked: ${reason}` : undefined),
  TOO_MANY_CHANGES: ({ retryAfter }) =>
    typeof retryAfter === 'number' ? `You have changed your profile picture too often; try again in ${formatWait(retryAfter)}.` : undefined,
  UNKNOWN_VARIANT: ({ variant, allowed }) =>
    typeof variant === 'string' && typeof allowed === 'string' ? `There is no picture size "${variant}"; use ${allowed}.` : undefined,
};

/** The default message for `code` with `details`, or undefined to use the code's fixed message. */
export function detailedMessage(code: ErrorCode, details: ErrorDetails | undefined): string | undefined {
  return details ? DETAILED[code]?.(details) : undefined;
}

/**
 * "5 MiB", "800 KiB", "12 bytes": binary units with their binary names, because limits are configured as
 * `5 * 1024 * 1024` and a "5 MB" that means 5,242,880 bytes misleads.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KiB'] : [bytes / (1024 * 1024), 'MiB'];
  return `${value < 10 ? Number(value.toFixed(1)) : Math.round(value)} ${unit}`;
}

// --- internal ---

function formatPixels(pixels: number): string {
  return pixels >= 1_000_000 ? `${Number((pixels / 1_000_000).toFixed(1))} megapixels` : `${pixels} pixels`;
}

function formatSeconds(ms: number): string {
  const seconds = Number((ms / 1000).toFixed(1));
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/** A wait in seconds, rounded up to the unit a person would use: "30 seconds", "5 minutes", "3 hours", "2 days". */
function formatWait(seconds: number): string {
  const units: Array<[string, number]> = [['day', 86_400], ['hour', 3_600], ['minute', 60]];
  const [unit, size] = units.find(([, size]) => seconds >= 2 * size) ?? (seconds > 60 ? ['minute', 60] : ['second', 1]);
  const count = Math.ceil(seconds / size);
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** "jpeg, png, webp" → "JPEG, PNG or WebP". */
function listFormats(accepted: string): string {
  const names = accepted.split(',').map((format) => FORMAT_NAMES[format.trim()] ?? format.trim().toUpperCase());
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
