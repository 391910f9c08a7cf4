/**
 * `profile-picture/client` as shipped: a self-contained ES module (a page loads `dist/client.js` directly, so it
 * must not import anything), and harmless to import on the server (SSR, tests), where it defines nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = join(import.meta.dirname, '..', '..', 'dist');
const built = existsSync(join(DIST, 'client.js'));

describe.skipIf(!built)('profile-picture/client build', () => {
  it('has no import or require of its own', () => {
    const source = readFileSync(join(DIST, 'client.js'), 'utf8');
    expect(source).not.toMatch(/^\s*import\s|\bimport\(|\brequire\(/m);
    expect(source).toContain('customElements.define');
  });

  it('imports in Node without a DOM and registers nothing', async () => {
    const client = await import('profile-picture/client');
    expect(client.defineProfilePictureUpload()).toBeUndefined();
    expect(typeof client.ProfilePictureUpload).toBe('function');
    expect(client.formatBytes(5 * 1024 * 1024)).toBe('5 MiB');
    expect(client.describeTypes(['image/jpeg', 'image/png', 'image/webp'])).toBe('JPEG, PNG or WebP');
  });

  it('carries its own ThumbHash decoder: the thumbhash package’s PNG, without importing the package', async () => {
    const { thumbHashToDataURL } = await import('profile-picture/client');
    const { thumbHashToDataURL: library } = await import('thumbhash');
    const hash = 'I6oKLwq4iHiPhndzirhomGiIiP1I9noD'; // a portrait photo's, as record.preview.thumbhash holds it
    expect(thumbHashToDataURL(hash)).toBe(library(Buffer.from(hash, 'base64')));
    expect(thumbHashToDataURL(hash)).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  });

  it('recognises formats by their bytes, not their names', () => {
    return import('profile-picture/client').then(({ sniffImageType }) => {
      expect(sniffImageType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
      expect(sniffImageType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png');
      expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
      expect(sniffImageType(new TextEncoder().encode('\0\0\0\x1cftypavif'))).toBe('image/avif');
      expect(sniffImageType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg">'))).toBeNull();
      expect(sniffImageType(new TextEncoder().encode('Shopping list: milk'))).toBeNull();
    });
  });
});

if (!built) console.warn('[e2e] SKIPPING client build checks: dist/client.js is missing (run `npm run build`).');
