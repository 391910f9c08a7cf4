/** The error model: one class, one code table, a brand that survives duplicated copies, safe JSON bodies. */
import { describe, expect, it } from 'vitest';
import { createErrorFactory } from '../../src/errors.js';
import {
  ERROR_CODES,
  isProfilePictureError,
  ProfilePictureError,
  toErrorBody,
  type ErrorCode,
} from '../../src/index.js';

const BRAND = Symbol.for('profile-picture.error');

describe('ProfilePictureError', () => {
  it('carries code, status, statusCode, expose, details and cause', () => {
    const cause = new Error('sharp said no');
    const error = new ProfilePictureError('FILE_TOO_LARGE', undefined, { details: { limit: 5 * 1024 * 1024 }, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'ProfilePictureError',
      code: 'FILE_TOO_LARGE',
      status: 413,
      statusCode: 413,
      expose: true,
      message: 'The file is larger than 5 MiB.',
      details: { limit: 5 * 1024 * 1024 },
    });
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain('ProfilePictureError');
  });

  it('has no cause property when none was given', () => {
    expect('cause' in new ProfilePictureError('NO_FILE')).toBe(false);
  });

  it('maps every code to the status of the table; expose is true exactly for 4xx', () => {
    for (const [code, { status, message }] of Object.entries(ERROR_CODES)) {
      const error = new ProfilePictureError(code as ErrorCode);
      expect([error.status, error.statusCode, error.message]).toEqual([status, status, message]);
      expect(error.expose).toBe(status < 500);
    }
  });

  it('the table has the statuses the design promises', () => {
    const statuses = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, entry]) => [code, entry.status]));
    expect(statuses).toMatchObject({
      FILE_TOO_LARGE: 413,
      UNSUPPORTED_TYPE: 415,
      NOT_MULTIPART: 415,
      NOT_AN_IMAGE: 422,
      CORRUPT_IMAGE: 422,
      IMAGE_TOO_LARGE: 422,
      IMAGE_TOO_SMALL: 422,
      REJECTED: 422,
      NO_FILE: 400,
      TOO_MANY_FILES: 400,
      UNEXPECTED_FIELD: 400,
      INVALID_CROP: 400,
      BAD_REQUEST: 400,
      UNAUTHENTICATED: 401,
      CROSS_ORIGIN: 403,
      LOCKED: 403,
      TIMEOUT: 408,
      CONFLICT: 409,
      TOO_MANY_UPLOADS: 429,
      TOO_MANY_CHANGES: 429,
      STORAGE_FAILED: 502,
      MODERATION_FAILED: 502,
      BUSY: 503,
    });
  });
});

describe('isProfilePictureError', () => {
  it('recognises the brand, not the class: an error from another copy of the package passes', () => {
    const foreign = Object.assign(new Error('from the CJS copy'), { code: 'NO_FILE', status: 400, expose: true });
    Object.defineProperty(foreign, BRAND, { value: true });
    expect(isProfilePictureError(foreign)).toBe(true);
    expect(foreign instanceof ProfilePictureError).toBe(false);
  });

  it('the brand is a global symbol, not enumerable (JSON and spreads do not carry it)', () => {
    const error = new ProfilePictureError('NO_FILE');
    expect(Object.getOwnPropertyDescriptor(error, BRAND)).toMatchObject({ value: true, enumerable: false });
    expect(isProfilePictureError({ ...error })).toBe(false);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['a look-alike without the brand', { code: 'NO_FILE', status: 400 }],
    ['a brand that is not true', { [BRAND]: 'yes' }],
    ['null', null],
    ['a string', 'NO_FILE'],
  ])('rejects %s', (_label, value) => {
    expect(isProfilePictureError(value)).toBe(false);
  });
});

describe('toErrorBody / toJSON', () => {
  it('4xx: code, message and details', () => {
    const error = new ProfilePictureError('UNSUPPORTED_TYPE', 'Nope', { details: { detected: 'image/svg+xml' } });
    const body = { error: { code: 'UNSUPPORTED_TYPE', message: 'Nope', details: { detected: 'image/svg+xml' } } };
    expect(toErrorBody(error)).toEqual(body);
    expect(error.toJSON()).toEqual(body);
    expect(JSON.parse(JSON.stringify(error))).toEqual(body);
  });

  it('4xx without details: no details key', () => {
    expect(toErrorBody(new ProfilePictureError('NO_FILE'))).toEqual({
      error: { code: 'NO_FILE', message: 'No file was uploaded.' },
    });
  });

  it('5xx: keeps the code, hides the message, details and cause', () => {
    const error = new ProfilePictureError('STORAGE_FAILED', 'EACCES /var/secret/path', {
      details: { operation: 'put' },
      cause: new Error('EACCES'),
    });
    expect(toErrorBody(error)).toEqual({ error: { code: 'STORAGE_FAILED', message: 'The picture could not be stored.' } });
    expect(JSON.stringify(error.toJSON())).not.toContain('secret');
  });

  it('STORAGE_FAILED says "read" for a failed read (in logs); its body keeps the fixed message', () => {
    for (const operation of ['get', 'list', 'getPicture', 'listPictures']) {
      const error = new ProfilePictureError('STORAGE_FAILED', undefined, { details: { operation } });
      expect([operation, error.message]).toEqual([operation, 'The picture could not be read.']);
      expect(toErrorBody(error)).toEqual({ error: { code: 'STORAGE_FAILED', message: 'The picture could not be stored.' } });
    }
    for (const operation of ['put', 'delete', 'deleteMany', 'setPicture', 'sweepTemporary']) {
      expect(new ProfilePictureError('STORAGE_FAILED', undefined, { details: { operation } }).message).toBe('The picture could not be stored.');
    }
  });

  it('unknown errors become INTERNAL without leaking anything', () => {
    for (const value of [new Error('password=hunter2'), { message: 'x' }, 'boom', undefined]) {
      expect(toErrorBody(value)).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
    }
  });

  it('a 5xx from a newer copy with a code this copy does not know does not crash', () => {
    const foreign = Object.assign(new Error('internal detail'), { code: 'QUOTA_EXCEEDED', status: 507, expose: false });
    Object.defineProperty(foreign, BRAND, { value: true });
    expect(toErrorBody(foreign)).toEqual({ error: { code: 'QUOTA_EXCEEDED', message: 'Internal error' } });
  });
});

describe('createErrorFactory (message overrides)', () => {
  it('without overrides uses the default message, which states the limit when the details carry it', () => {
    const error = createErrorFactory()('IMAGE_TOO_SMALL', { details: { minSide: 16 } });
    expect(error).toMatchObject({ code: 'IMAGE_TOO_SMALL', status: 422, message: 'The image is too small: it must be at least 16 × 16 pixels.' });
    expect(error.details).toEqual({ minSide: 16 });
    expect(createErrorFactory()('IMAGE_TOO_SMALL').message).toBe(ERROR_CODES.IMAGE_TOO_SMALL.message);
  });

  it.each([
    ['FILE_TOO_LARGE', { limit: 5 * 1024 * 1024, received: 6_000_000 }, 'The file is larger than 5 MiB.'],
    ['FILE_TOO_LARGE', { limit: 1536 * 1024 }, 'The file is larger than 1.5 MiB.'],
    ['FILE_TOO_LARGE', { limit: 800 * 1024 }, 'The file is larger than 800 KiB.'],
    ['IMAGE_TOO_LARGE', { width: 20000, height: 20000, limit: 64_000_000 }, 'The image has more than 64 megapixels; choose a smaller one.'],
    ['UNSUPPORTED_TYPE', { detected: 'image/tiff', accepted: 'jpeg, png, gif, bmp, webp' }, 'This file type is not supported; choose a JPEG, PNG, GIF, BMP or WebP image.'],
    ['UNSUPPORTED_TYPE', { detected: 'image/heic', accepted: 'jpeg, png', format: 'heic' }, 'HEIC photos (the iPhone default) cannot be read here; choose a JPEG, or set the iPhone camera to "Most Compatible" (Settings → Camera → Formats).'],
    ['TIMEOUT', { timeout: 30_000 }, 'The upload took longer than 30 seconds; try again on a faster connection.'],
    ['INVALID_CROP', { reason: 'too-small', minSide: 16 }, 'The crop must be at least 16 pixels wide and high.'],
    ['INVALID_CROP', { reason: 'outside' }, 'The crop rectangle goes outside the image.'],
    ['INVALID_CROP', { reason: 'incomplete' }, 'Send the four crop fields, each once, or none.'],
    ['UNKNOWN_VARIANT', { variant: 'xl', allowed: 'sm, md, lg' }, 'There is no picture size "xl"; use sm, md, lg.'],
    ['LOCKED', { reason: 'Reported as spam.' }, 'Your profile picture is locked: Reported as spam.'],
    ['LOCKED', { reason: ' ' }, 'Your profile picture is locked and cannot be changed.'],
    ['TOO_MANY_CHANGES', { retryAfter: 1, limit: 2 }, 'You have changed your profile picture too often; try again in 1 second.'],
    ['TOO_MANY_CHANGES', { retryAfter: 45, limit: 2 }, 'You have changed your profile picture too often; try again in 45 seconds.'],
    ['TOO_MANY_CHANGES', { retryAfter: 90, limit: 2 }, 'You have changed your profile picture too often; try again in 2 minutes.'],
    ['TOO_MANY_CHANGES', { retryAfter: 3_000, limit: 2 }, 'You have changed your profile picture too often; try again in 50 minutes.'],
    ['TOO_MANY_CHANGES', { retryAfter: 7_201, limit: 2 }, 'You have changed your profile picture too often; try again in 3 hours.'],
    ['TOO_MANY_CHANGES', { retryAfter: 200_000, limit: 2 }, 'You have changed your profile picture too often; try again in 3 days.'],
  ] as const)('%s %o → %s', (code, details, message) => {
    expect(createErrorFactory()(code, { details }).message).toBe(message);
  });

  it('a string override replaces the message; a function receives the details', () => {
    const fail = createErrorFactory({
      NO_FILE: 'Choisissez un fichier.',
      FILE_TOO_LARGE: (details) => `Max ${Number(details.limit) / 1024} KiB`,
    });
    expect(fail('NO_FILE').message).toBe('Choisissez un fichier.');
    expect(fail('FILE_TOO_LARGE', { details: { limit: 2048 } }).message).toBe('Max 2 KiB');
    expect(fail('CONFLICT').message).toBe(ERROR_CODES.CONFLICT.message);
  });

  it('a function override gets {} when there are no details', () => {
    let received: unknown;
    createErrorFactory({ NO_FILE: (details) => ((received = details), 'x') })('NO_FILE');
    expect(received).toEqual({});
  });

  it('an override that throws or returns a non-string falls back to the default message', () => {
    const fail = createErrorFactory({
      NO_FILE: () => {
        throw new Error('missing translation');
      },
      CONFLICT: (() => 42) as never,
    });
    expect(fail('NO_FILE')).toMatchObject({ code: 'NO_FILE', message: ERROR_CODES.NO_FILE.message });
    expect(fail('CONFLICT').message).toBe(ERROR_CODES.CONFLICT.message);
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    expect(createErrorFactory()('CORRUPT_IMAGE', { cause }).cause).toBe(cause);
  });
});
