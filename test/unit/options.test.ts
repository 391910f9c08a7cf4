/** Options are validated once, at construction, with messages that name the option, the expectation and the value. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  DEFAULTS,
  memoryStorage,
  memoryUserRepository,
  type ProfilePicturesOptions,
} from '../../src/index.js';
import { resolveOptions, serviceOptionNames } from '../../src/options.js';

const base = () => ({ storage: memoryStorage(), users: memoryUserRepository() });

function construct(extra: Record<string, unknown>) {
  return () => createProfilePictures({ ...base(), ...extra } as ProfilePicturesOptions);
}

describe('defaults', () => {
  it('resolves every default', () => {
    const options = resolveOptions(base());
    expect(options.limits).toEqual({ fileSize: 5 * 1024 * 1024, inputPixels: 64_000_000, minSide: 16, bodyTimeout: 30_000, uploadsPerUser: 2, animationPixels: 25_000_000, changes: null });
    expect(options.accept).toEqual(['jpeg', 'png', 'gif', 'bmp', 'webp']);
    expect(options.variants).toEqual({ sm: 64, md: 256, lg: 512 });
    expect(options.output).toEqual({ format: 'webp', quality: 82 });
    expect(options.position).toBe('centre');
    expect(options.animated).toBe(false);
    expect(options).toMatchObject({ prefix: 'profile_pictures', publicPath: '/media/', fieldName: 'profile_picture' });
    expect(options.maxQueue).toBe(4 * options.concurrency);
    expect(options.bodyConcurrency).toBe(2 * options.concurrency);
    expect(options.messages).toEqual({});
    expect(options.timeouts).toEqual({ storageMs: 10_000, repositoryMs: 5_000, moderateMs: 10_000 });
    expect(options.onOrphan).toBeUndefined(); // the service then warns on the console
  });

  it('DEFAULTS is frozen all the way down', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    for (const value of [DEFAULTS.limits, DEFAULTS.accept, DEFAULTS.variants, DEFAULTS.output, DEFAULTS.timeouts]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
  });
});

describe("the README's option table", () => {
  // The rows of "## createProfilePictures(options)": option path → its default cell.
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('## createProfilePictures(options)'), readme.indexOf('### Animated avatars'));
  const rows = new Map([...section.matchAll(/^\| `([a-zA-Z.]+)` \| ([^|]+) \|/gm)].map((row) => [row[1]!, row[2]!.trim()]));

  it('has a row for every option', () => {
    const resolved = resolveOptions(base());
    const nested = ['limits', 'output', 'timeouts'] as const;
    const expected = [
      ...serviceOptionNames().filter((name) => !(nested as readonly string[]).includes(name)),
      ...nested.flatMap((group) => Object.keys(resolved[group]).map((name) => `${group}.${name}`)),
    ];
    expect([...rows.keys()].sort()).toEqual(expected.sort());
  });

  it('states each default as the code has it: passing the stated value changes nothing', () => {
    const defaults = resolveOptions(base());
    // Cells that are one JavaScript value (`'webp'`, `30_000`, `{ keep: 0 }`); the others say it in words.
    const literal = /^`([^`]+)`$/;
    const checked: string[] = [];
    for (const [name, cell] of rows) {
      const value = literal.exec(cell)?.[1];
      if (value === undefined || /[×]/.test(value)) continue;
      const parsed: unknown = new Function(`return (${value});`)();
      const [group, leaf] = name.split('.');
      const options = leaf ? { [group!]: { [leaf]: parsed } } : { [group!]: parsed };
      expect(resolveOptions({ ...base(), ...options } as ProfilePicturesOptions), `${name}: ${value}`).toEqual({ ...defaults, storage: expect.anything(), users: expect.anything() });
      checked.push(name);
    }
    expect(checked.length).toBeGreaterThanOrEqual(20);
  });
});

describe('resolution', () => {
  it('merges partial nested options with the defaults', () => {
    const options = resolveOptions({ ...base(), limits: { fileSize: 1000 }, output: { format: 'png' }, timeouts: { storageMs: 30_000 } });
    expect(options.limits).toMatchObject({ fileSize: 1000, inputPixels: 64_000_000, minSide: 16 });
    expect(options.output).toEqual({ format: 'png', quality: 82 });
    expect(options.timeouts).toEqual({ storageMs: 30_000, repositoryMs: 5_000, moderateMs: 10_000 });
    // AVIF's quality scale differs: its own default, unless the app sets one.
    expect(resolveOptions({ ...base(), position: 'entropy' }).position).toBe('entropy');
    expect(resolveOptions({ ...base(), output: { format: 'avif' } }).output).toEqual({ format: 'avif', quality: 50 });
    expect(resolveOptions({ ...base(), output: { format: 'avif', quality: 70 } }).output).toEqual({ format: 'avif', quality: 70 });
    expect(Object.isFrozen(options.timeouts)).toBe(true);
  });

  it('derives bodyConcurrency and maxQueue from an explicit concurrency unless they are given', () => {
    expect(resolveOptions({ ...base(), concurrency: 3 })).toMatchObject({ concurrency: 3, bodyConcurrency: 6, maxQueue: 12 });
    expect(resolveOptions({ ...base(), concurrency: 3, bodyConcurrency: 5, maxQueue: 0 })).toMatchObject({
      concurrency: 3,
      bodyConcurrency: 5,
      maxQueue: 0,
    });
  });

  it('never mutates the caller object and returns a deeply frozen one', () => {
    const input = {
      ...base(),
      limits: { fileSize: 1000 },
      accept: ['png', 'png', 'jpeg'] as const,
      variants: { small: 32 },
      output: { quality: 50 },
      messages: { NO_FILE: 'Choose a file.' },
    };
    const snapshot = JSON.stringify(input);
    const options = resolveOptions(input as unknown as ProfilePicturesOptions);
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(Object.isFrozen(input.limits)).toBe(false);
    expect(options.accept).toEqual(['png', 'jpeg']); // duplicates dropped
    for (const part of [options, options.limits, options.accept, options.variants, options.output, options.messages]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(options.limits).not.toBe(input.limits);
    expect(options.variants).not.toBe(input.variants);
    expect(options.messages).not.toBe(input.messages);
    // Later changes to the caller's objects do not reach the service.
    input.limits.fileSize = 1;
    input.variants.small = 1;
    expect(options.limits.fileSize).toBe(1000);
    expect(options.variants.small).toBe(32);
  });

  it('the service exposes the resolved options', () => {
    const pictures = createProfilePictures({ ...base(), variants: { a: 10 } });
    expect(pictures.options.variants).toEqual({ a: 10 });
    expect(Object.isFrozen(pictures.options)).toBe(true);
  });
});

describe('exact messages', () => {
  const P = '[profile-picture] ';
  it.each([
    [{ limits: { fileSize: -1 } }, RangeError, 'Expected a positive integer for `limits.fileSize` but received -1 (number)'],
    [{ limits: { fileSize: 0 } }, RangeError, 'Expected a positive integer for `limits.fileSize` but received 0 (number)'],
    [{ limits: { fileSize: 1.5 } }, RangeError, 'Expected a positive integer for `limits.fileSize` but received 1.5 (number)'],
    [{ limits: { fileSize: '5mb' } }, TypeError, 'Expected a positive integer for `limits.fileSize` but received "5mb" (string)'],
    [{ limits: { inputPixels: Infinity } }, RangeError, 'Expected a positive integer for `limits.inputPixels` but received Infinity (number)'],
    [{ limits: { minSide: -16 } }, RangeError, 'Expected a positive integer for `limits.minSide` but received -16 (number)'],
    [{ limits: { bodyTimeout: NaN } }, RangeError, 'Expected a positive integer for `limits.bodyTimeout` but received NaN (number)'],
    // setTimeout turns a longer delay into 1 ms: a typo'd huge timeout must not make every body time out at once.
    [{ limits: { bodyTimeout: 2 ** 31 } }, RangeError, 'Expected a positive integer of at most 2147483647 for `limits.bodyTimeout` but received 2147483648 (number)'],
    [{ limits: 5 }, TypeError, 'Expected an object for `limits` but received 5 (number)'],
    [{ limits: null }, TypeError, 'Expected an object for `limits` but received null'],
    [{ output: { quality: 0 } }, RangeError, 'Expected an integer between 1 and 100 for `output.quality` but received 0 (number)'],
    [{ output: { quality: 101 } }, RangeError, 'Expected an integer between 1 and 100 for `output.quality` but received 101 (number)'],
    [{ output: { format: 'gif' } }, TypeError, "Expected one of 'webp', 'jpeg', 'png', 'avif' for `output.format` but received \"gif\" (string)"],
    [{ position: 'center' }, TypeError, "Expected one of 'centre', 'attention', 'entropy' for `position` but received \"center\" (string)"],
    [{ animated: 'yes' }, TypeError, 'Expected a boolean for `animated` but received "yes" (string)'],
    [{ animated: true, output: { format: 'jpeg' } }, TypeError, "`animated: true` needs `output.format: 'webp'` (the only output format that can animate) but received \"jpeg\""],
    [{ limits: { animationPixels: 0 } }, RangeError, 'Expected a positive integer for `limits.animationPixels` but received 0 (number)'],
    [{ position: 'north' }, TypeError, "Expected one of 'centre', 'attention', 'entropy' for `position` but received \"north\" (string)"],
    [{ output: [] }, TypeError, 'Expected an object for `output` but received an array'],
    [{ accept: ['png', 'svg'] }, TypeError, "Expected one of 'jpeg', 'png', 'gif', 'bmp', 'webp', 'avif', 'tiff', 'heif' for `accept[1]` but received \"svg\" (string)"],
    [{ accept: [] }, TypeError, 'Expected a non-empty array of input formats for `accept` but received an array'],
    [{ accept: 'png' }, TypeError, 'Expected a non-empty array of input formats for `accept` but received "png" (string)'],
    [{ variants: {} }, TypeError, 'Expected at least one variant for `variants` but received an object'],
    [{ variants: { 'a-b': 64 } }, TypeError, 'Expected variant names of 1–16 letters, digits or _ for `variants` but received "a-b" (string)'],
    [{ variants: { '../x': 64 } }, TypeError, 'Expected variant names of 1–16 letters, digits or _ for `variants` but received "../x" (string)'],
    [{ variants: { _x: 64 } }, TypeError, 'Expected variant names of 1–16 letters, digits or _ for `variants` but received "_x" (string)'],
    [{ variants: { abcdefghijklmnopq: 64 } }, TypeError, 'Expected variant names of 1–16 letters, digits or _ for `variants` but received "abcdefghijklmnopq" (string)'],
    [{ variants: { sm: 64, SM: 128 } }, TypeError, 'Expected variant names that differ in more than letter case for `variants` but received "SM" (string)'],
    [{ variants: { sm: 0 } }, RangeError, 'Expected an integer between 1 and 4096 for `variants.sm` but received 0 (number)'],
    [{ variants: { sm: 5000 } }, RangeError, 'Expected an integer between 1 and 4096 for `variants.sm` but received 5000 (number)'],
    [{ variants: { sm: '64' } }, TypeError, 'Expected an integer between 1 and 4096 for `variants.sm` but received "64" (string)'],
    [{ prefix: '../media' }, TypeError, 'Expected slash-separated segments of [A-Za-z0-9_-] for `prefix` but received "../media" (string)'],
    [{ prefix: 'a/' }, TypeError, 'Expected slash-separated segments of [A-Za-z0-9_-] for `prefix` but received "a/" (string)'],
    [{ prefix: '' }, TypeError, 'Expected a non-empty string for `prefix` but received "" (string)'],
    [{ publicPath: '/media' }, TypeError, 'Expected a path or URL ending in "/" for `publicPath` but received "/media" (string)'],
    [{ concurrency: 0 }, RangeError, 'Expected a positive integer for `concurrency` but received 0 (number)'],
    [{ bodyConcurrency: 0 }, RangeError, 'Expected a positive integer for `bodyConcurrency` but received 0 (number)'],
    [{ bodyConcurrency: 2.5 }, RangeError, 'Expected a positive integer for `bodyConcurrency` but received 2.5 (number)'],
    [{ bodyConcurrency: '8' }, TypeError, 'Expected a positive integer for `bodyConcurrency` but received "8" (string)'],
    [{ maxQueue: -1 }, RangeError, 'Expected a non-negative integer for `maxQueue` but received -1 (number)'],
    [{ maxQueue: '10' }, TypeError, 'Expected a non-negative integer for `maxQueue` but received "10" (string)'],
    [{ timeouts: { storageMs: 0 } }, RangeError, 'Expected a positive integer for `timeouts.storageMs` but received 0 (number)'],
    [{ timeouts: { storageMs: 2.5 } }, RangeError, 'Expected a positive integer for `timeouts.storageMs` but received 2.5 (number)'],
    [{ timeouts: { storageMs: '10s' } }, TypeError, 'Expected a positive integer for `timeouts.storageMs` but received "10s" (string)'],
    [{ timeouts: { storageMs: 2 ** 31 } }, RangeError, 'Expected a positive integer of at most 2147483647 for `timeouts.storageMs` but received 2147483648 (number)'],
    [{ timeouts: { repositoryMs: -5 } }, RangeError, 'Expected a positive integer for `timeouts.repositoryMs` but received -5 (number)'],
    [{ timeouts: { repositoryMs: Infinity } }, RangeError, 'Expected a positive integer for `timeouts.repositoryMs` but received Infinity (number)'],
    [{ timeouts: 5000 }, TypeError, 'Expected an object for `timeouts` but received 5000 (number)'],
    [{ onOrphan: 'log' }, TypeError, 'Expected a function for `onOrphan` but received "log" (string)'],
    [{ onOrphan: null }, TypeError, 'Expected a function for `onOrphan` but received null'],
    [{ fieldName: '' }, TypeError, 'Expected a non-empty string for `fieldName` but received "" (string)'],
    [{ messages: { FILE_TO_LARGE: 'x' } }, TypeError, 'Expected keys that are error codes for `messages` but received "FILE_TO_LARGE" (string)'],
    [{ messages: { NO_FILE: 42 } }, TypeError, 'Expected a string or a function of the error details for `messages.NO_FILE` but received 42 (number)'],
    [{ storage: undefined }, TypeError, 'Expected a StorageAdapter such as diskStorage({ root }) for `storage` but received undefined'],
    [{ storage: 'media/' }, TypeError, 'Expected a StorageAdapter such as diskStorage({ root }) for `storage` but received "media/" (string)'],
    [{ users: null }, TypeError, 'Expected a UserRepository such as memoryUserRepository() for `users` but received null'],
    // Misspelled or misplaced options are refused too, pointing at the option that was probably meant.
    [{ limits: { filesize: 1024 } }, TypeError, 'Unknown option `limits.filesize`; did you mean `limits.fileSize`?'],
    [{ limits: { fileSzie: 1024 } }, TypeError, 'Unknown option `limits.fileSzie`; did you mean `limits.fileSize`?'],
    [{ maxFileSize: 1024 }, TypeError, 'Unknown option `maxFileSize`; did you mean `limits.fileSize`?'],
    [{ outputFormat: 'png' }, TypeError, 'Unknown option `outputFormat`; did you mean `output.format`?'],
    [{ concurency: 2 }, TypeError, 'Unknown option `concurency`; did you mean `concurrency`?'],
    [{ timeouts: { storage: 1000 } }, TypeError, 'Unknown option `timeouts.storage`; did you mean `timeouts.storageMs`?'],
    [{ storageTimeout: 1000 }, TypeError, 'Unknown option `storageTimeout`; did you mean `timeouts.storageMs`?'],
    [{ limits: { concurrency: 2 } }, TypeError, 'Unknown option `limits.concurrency`; did you mean `concurrency`?'],
    [{ output: { fileSize: 1 } }, TypeError, 'Unknown option `output.fileSize`; did you mean `limits.fileSize`?'],
    [
      { output: { lossless: true } },
      TypeError,
      'Unknown option `output.lossless`; expected one of `output.format`, `output.quality`',
    ],
  ])('%o', (extra, type, message) => {
    const run = construct(extra);
    expect(run).toThrow(type);
    expect(run).toThrow(P + message);
    try {
      run();
    } catch (err) {
      expect((err as Error).message).toBe(P + message);
      expect((err as Error).constructor).toBe(type);
    }
  });

  it('names the missing storage and repository methods', () => {
    const storage = { name: 'half', put: async () => {}, get: async () => null };
    expect(construct({ storage })).toThrow(
      new TypeError('[profile-picture] `storage` is missing required method(s): delete, list'),
    );
    const users = { getPicture: async () => null, setPicture: 'yes' };
    expect(construct({ users })).toThrow(new TypeError('[profile-picture] `users` is missing required method(s): setPicture'));
  });

  it('accepts storages and repositories built from classes (methods on the prototype)', () => {
    class Users {
      async getPicture() {
        return null;
      }
      async setPicture() {
        return true;
      }
    }
    expect(() => createProfilePictures({ storage: memoryStorage(), users: new Users() })).not.toThrow();
  });

  it('the options argument itself must be an object', () => {
    expect(() => createProfilePictures(undefined as never)).toThrow(
      new TypeError('[profile-picture] Expected an object for `options` but received undefined'),
    );
  });
});
