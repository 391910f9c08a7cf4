/** The path policy: the only producer of storage keys, and the check every storage applies to them. */
import { describe, expect, it } from 'vitest';
import { assertSafeKey, isSafeKey, isSafePrefix, newUploadId, userKey, userPrefix, variantKey } from '../../src/keys.js';
import * as fx from '../fixtures/index.js';
import { createTestService } from '../fixtures/service.js';

const HASHED = /^h\.[0-9a-f]{40}$/;

describe('userKey', () => {
  it.each(['42', 'alice', 'alice_smith-2', 'a'.repeat(64), '-', '_'])('keeps the safe slug %j', (id) => {
    expect(userKey(id)).toBe(id);
  });

  it.each([
    ['traversal', '../x'],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['a dot', 'alice.smith'],
    ['dot-dot', '..'],
    ['unicode', 'élodie'],
    ['an emoji', '👩‍💻'],
    ['a space', 'alice smith'],
    ['NUL', 'a\0b'],
    ['65 characters', 'a'.repeat(65)],
    ['an e-mail', 'alice@example.com'],
    ['capitals (a case-insensitive disk would fold Alice onto alice)', 'Alice'],
  ])('hashes an id with %s', (_label, id) => {
    const key = userKey(id);
    expect(key).toMatch(HASHED);
    expect(isSafeKey(key)).toBe(true);
    expect(userKey(id)).toBe(key); // deterministic
  });

  it('different ids get different keys', () => {
    const ids = ['Alice', 'alice', 'ALICE', '../x', '../y', 'a/b', 'a\\b', 'élodie', 'elodie\u0301', 'a'.repeat(65), 'a'.repeat(66)];
    expect(new Set(ids.map(userKey)).size).toBe(ids.length);
  });

  it('no user id can be chosen to equal another user’s hashed key', () => {
    const hashed = userKey('alice smith');
    // The dot keeps hashed keys out of the safe-slug space: using the hashed key as an id hashes it again.
    expect(userKey(hashed)).not.toBe(hashed);
    expect(userKey(hashed.replace('.', ''))).toBe(hashed.replace('.', ''));
  });
});

describe('variantKey', () => {
  const uploadId = 'ab'.repeat(12);
  it('is <prefix>/<user-key>/<upload id>-<variant>.<ext>', () => {
    expect(variantKey('profile_pictures', '42', uploadId, 'md', 'webp')).toBe(`profile_pictures/42/${uploadId}-md.webp`);
    expect(userPrefix('p/q', '42')).toBe('p/q/42/');
  });

  it('never contains the raw id when it is unsafe, and is always a safe key', () => {
    for (const id of ['../../etc/passwd', '/abs', 'C:\\x', 'a\0b', '..']) {
      const key = variantKey('profile_pictures', id, uploadId, 'sm', 'jpg');
      expect(isSafeKey(key)).toBe(true);
      expect(key).not.toContain(id);
      expect(key.split('/')).toHaveLength(3);
    }
  });

  it('upload ids are 24 hex digits and never repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, newUploadId));
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 100)) expect(id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('through the service: the same bytes get new keys on every upload, for every user (invariant 5)', async () => {
    const { pictures } = createTestService();
    const png = await fx.pngGreen();
    const traversal = await pictures.upload('../../etc', png);
    const first = await pictures.upload('bob', png);
    const again = await pictures.upload('bob', png);
    for (const { key } of Object.values(traversal.variants)) {
      expect(key).toMatch(/^profile_pictures\/h\.[0-9a-f]{40}\/[0-9a-f]{24}-(sm|md|lg)\.webp$/);
    }
    expect(again.contentHash).toBe(first.contentHash); // the same picture…
    for (const name of ['sm', 'md', 'lg']) {
      const [firstKey, againKey] = [first.variants[name]!.key, again.variants[name]!.key];
      expect(firstKey).toMatch(new RegExp(`^profile_pictures/bob/[0-9a-f]{24}-${name}\\.webp$`));
      expect(againKey).not.toBe(firstKey); // …under keys of its own
      // One upload id per upload: all variants of one upload share it.
      expect(againKey.split('/')[2]!.split('-')[0]).toBe(again.variants.sm!.key.split('/')[2]!.split('-')[0]);
    }
  });
});

describe('isSafeKey', () => {
  it.each(['a', 'profile_pictures/42/abc-sm.webp', 'a/b/c', 'a.b/c-d_e', 'x/h.0123abcd'])('accepts %j', (key) => {
    expect(isSafeKey(key)).toBe(true);
    expect(() => assertSafeKey(key)).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['parent', '..'],
    ['parent segment', 'a/../b'],
    ['leading parent', '../a'],
    ['current segment', 'a/./b'],
    ['absolute', '/etc/passwd'],
    ['trailing slash', 'a/b/'],
    ['double slash', 'a//b'],
    ['backslash', 'a\\b'],
    ['windows traversal', '..\\..\\x'],
    ['drive letter', 'C:/x'],
    ['NUL', 'a\0b'],
    ['newline', 'a\nb'],
    ['space', 'a b'],
    ['percent-encoded', '%2e%2e/x'],
    ['dot file', '.env'],
    ['unicode', 'é/x'],
    ['too long', 'a'.repeat(1025)],
    ['not a string', 42],
    ['null', null],
  ])('rejects %s', (_label, key) => {
    expect(isSafeKey(key)).toBe(false);
    expect(() => assertSafeKey(key)).toThrow(TypeError);
  });

  it('assertSafeKey names the key', () => {
    expect(() => assertSafeKey('../x')).toThrow('[profile-picture] Unsafe storage key: "../x"');
  });
});

describe('isSafePrefix', () => {
  it.each(['', 'a/', 'profile_pictures/42/'])('accepts %j', (prefix) => expect(isSafePrefix(prefix)).toBe(true));
  it.each(['a', '/a/', '../', 'a/../', 'a//'])('rejects %j', (prefix) => expect(isSafePrefix(prefix)).toBe(false));
});
