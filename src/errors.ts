/**
 * The one error class of the library and its code table.
 *
 * Every failure a client can cause, and every backend failure, surfaces as a `ProfilePictureError` with a stable
 * `code` and an HTTP `status`. Adapters recognise it by a global-symbol brand rather than `instanceof`, so the check
 * survives duplicated bundles (ESM + CJS copies of the package in one process).
 */
import { detailedMessage } from './error-messages.js';

/** Stable error codes, their HTTP status and default (English) message. */
export const ERROR_CODES = {
  FILE_TOO_LARGE: { status: 413, message: 'The file is too large.' },
  UNSUPPORTED_TYPE: { status: 415, message: 'This file type is not supported.' },
  NOT_MULTIPART: { status: 415, message: 'The request must be multipart/form-data.' },
  NOT_AN_IMAGE: { status: 422, message: 'The file is not an image.' },
  CORRUPT_IMAGE: { status: 422, message: 'The image is damaged or incomplete.' },
  IMAGE_TOO_LARGE: { status: 422, message: 'The image has too many pixels.' },
  IMAGE_TOO_SMALL: { status: 422, message: 'The image is too small.' },
  REJECTED: { status: 422, message: 'This picture was not accepted.' },
  NO_FILE: { status: 400, message: 'No file was uploaded.' },
  TOO_MANY_FILES: { status: 400, message: 'Upload exactly one file.' },
  UNEXPECTED_FIELD: { status: 400, message: 'The file was sent in an unexpected form field.' },
  INVALID_CROP: { status: 400, message: 'The crop must be a rectangle inside the image, no smaller than the smallest accepted picture.' },
  BAD_REQUEST: { status: 400, message: 'The upload request is malformed.' },
  UNAUTHENTICATED: { status: 401, message: 'Sign in to change your profile picture.' },
  CROSS_ORIGIN: { status: 403, message: 'Cross-site requests are not allowed.' },
  LOCKED: { status: 403, message: 'Your profile picture is locked and cannot be changed.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  UNKNOWN_VARIANT: { status: 400, message: 'There is no picture of this size.' },
  TIMEOUT: { status: 408, message: 'The upload took too long.' },
  CONFLICT: { status: 409, message: 'The picture was changed by another request; try again.' },
  ABORTED: { status: 499, message: 'The upload was aborted.' },
  STORAGE_FAILED: { status: 502, message: 'The picture could not be stored.' },
  MODERATION_FAILED: { status: 502, message: 'The picture could not be checked; try again later.' },
  TOO_MANY_UPLOADS: { status: 429, message: 'Another upload of yours is still in progress; try again shortly.' },
  TOO_MANY_CHANGES: { status: 429, message: 'You have changed your profile picture too often; try again later.' },
  BUSY: { status: 503, message: 'The server is busy; try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra, JSON-safe facts about an error, e.g. `{ limit, received }` or `{ detected }`. */
export type ErrorDetails = Record<string, string | number | boolean | null>;

/** Per-code message overrides (i18n): a fixed string or a function of the error details. */
export type ErrorMessages = Partial<Record<ErrorCode, string | ((details: ErrorDetails) => string)>>;

const BRAND = Symbol.for('profile-picture.error');

/**
 * The error every library operation rejects with for client mistakes and backend failures.
 *
 * @example
 * ```ts
 * try { await pictures.upload(userId, bytes) }
 * catch (err) { if (isProfilePictureError(err)) res.status(err.status).json(err.toJSON()) }
 * ```
 */
export class ProfilePictureError extends Error {
  /** Stable code from {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** HTTP status that fits the error. */
  readonly status: number;
  /** Whether the message is safe to show to a client (true for 4xx, as Koa's `expose`). */
  readonly expose: boolean;
  /** Extra, JSON-safe facts about the error. */
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message?: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    const fallback = detailedMessage(code, options.details) ?? ERROR_CODES[code].message;
    super(message ?? fallback, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProfilePictureError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.expose = this.status < 500;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Alias of `status`, read by Express's final handler and http-errors-aware code. */
  get statusCode(): number {
    return this.status;
  }

  /** The JSON error body: `{ error: { code, message, details? } }`. */
  toJSON(): ErrorBody {
    return toErrorBody(this);
  }
}

/** The JSON shape of an error response. */
export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetails };
}

/**
 * True when `value` is a {@link ProfilePictureError}, even one created by another copy of the package.
 */
export function isProfilePictureError(value: unknown): value is ProfilePictureError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * The JSON body for any error. Unknown errors become `INTERNAL` and never leak their message.
 */
export function toErrorBody(err: unknown): ErrorBody {
  if (!isProfilePictureError(err)) return { error: { code: 'INTERNAL', message: 'Internal error' } };
  if (!err.expose) {
    // A 5xx keeps its code but not its message or details; a code this copy does not know (an error from a newer
    // copy of the package in the same process) gets the generic message rather than a crash.
    const known = (ERROR_CODES as Record<string, { message: string } | undefined>)[err.code];
    return { error: { code: err.code, message: known?.message ?? 'Internal error' } };
  }
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details) body.error.details = err.details;
  return body;
}

/** Builds errors with the app's message overrides applied. */
export type ErrorFactory = (
  code: ErrorCode,
  options?: { details?: ErrorDetails; cause?: unknown },
) => ProfilePictureError;

/** Creates an {@link ErrorFactory} that applies `messages` overrides. */
export function createErrorFactory(messages: ErrorMessages = {}): ErrorFactory {
  return (code, options = {}) => {
    return new ProfilePictureError(code, overriddenMessage(messages[code], options.details), options);
  };
}

// --- internal ---

/** The app's message for an error, or `undefined` (the default) when there is none or the override fails. */
function overriddenMessage(
  override: string | ((details: ErrorDetails) => string) | undefined,
  details: ErrorDetails | undefined,
): string | undefined {
  if (typeof override === 'string') return override;
  if (typeof override !== 'function') return undefined;
  try {
    const message: unknown = override(details ?? {});
    return typeof message === 'string' ? message : undefined;
  } catch {
    // A broken translation must not replace the error being reported (e.g. turn a 413 into an unhandled TypeError).
    return undefined;
  }
}
