/**
 * The widget's `accept` list. iOS Safari converts a HEIC photo to JPEG only when the file input's `accept` names
 * neither HEIC nor a wildcard, and prebuilt sharp cannot decode HEIC: the default list must stay that way.
 */
import { describe, expect, it } from 'vitest';
import { clientConfig, createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';

const acceptOf = (options: Parameters<typeof createProfilePictures>[0]) => clientConfig(createProfilePictures(options).options).accept;

describe('clientConfig().accept', () => {
  it('by default names JPEG, PNG, GIF, BMP and WebP only — no HEIC, no wildcard — so iOS hands over a JPEG', () => {
    const accept = acceptOf({ storage: memoryStorage(), users: memoryUserRepository() });
    expect(accept).toEqual(['image/jpeg', 'image/png', 'image/gif', 'image/bmp', 'image/webp']);
  });

  it('names HEIC only when the app opts into `heif`', () => {
    const accept = acceptOf({ storage: memoryStorage(), users: memoryUserRepository(), accept: ['jpeg', 'heif'] });
    expect(accept).toEqual(['image/jpeg', 'image/heic']);
  });
});

describe('clientConfig().clientMaxSide', () => {
  const options = (variants?: Record<string, number>) =>
    createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), ...(variants && { variants }) }).options;

  it('is 4 × the largest variant by default, so shrinking in the browser keeps what the variants need', () => {
    expect(clientConfig(options()).clientMaxSide).toBe(2048);
    expect(clientConfig(options({ small: 100, big: 300 })).clientMaxSide).toBe(1200);
    expect(clientConfig(options({ huge: 4096 })).clientMaxSide).toBe(16384);
  });

  it('takes an integer from the largest variant to 16384, and names the setting otherwise', () => {
    expect(clientConfig(options(), { clientMaxSide: 4096 }).clientMaxSide).toBe(4096);
    expect(clientConfig(options(), { clientMaxSide: 512 }).clientMaxSide).toBe(512);
    expect(() => clientConfig(options(), { clientMaxSide: 511 })).toThrow(
      new RangeError('[profile-picture] Expected an integer between 512 and 16384 for `clientMaxSide` but received 511 (number)'),
    );
    expect(() => clientConfig(options(), { clientMaxSide: '2048' as unknown as number })).toThrow(TypeError);
    expect(() => clientConfig(options(), { clientMaxSide: 20000 })).toThrow(RangeError);
  });
});
