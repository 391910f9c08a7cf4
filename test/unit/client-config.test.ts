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
