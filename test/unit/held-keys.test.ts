/**
 * heldKeys(): every string under the prefix anywhere in a record — what sweep() keeps besides the fields it reads —
 * and a bounded walk on records no JSON row produces (shared or cyclic objects, deep nesting).
 */
import { describe, expect, it } from 'vitest';
import { heldKeys } from '../../src/held-keys.js';

describe('heldKeys', () => {
  it('finds keys at any depth, in objects and arrays, once each, and nothing outside the prefix', () => {
    const record = {
      variants: { sm: { key: 'p/42/a-sm.webp', width: 64 } },
      history: [{ variants: { sm: { key: 'p/42/b-sm.webp' } } }],
      future: { list: ['p/42/c.webp', 'p/42/a-sm.webp', 'elsewhere/d.webp', 7, null] },
      lock: { reason: 'not a key' },
    };
    expect(heldKeys(record, 'p/').sort()).toEqual(['p/42/a-sm.webp', 'p/42/b-sm.webp', 'p/42/c.webp']);
    expect(heldKeys(null, 'p/')).toEqual([]);
    expect(heldKeys('p/42/x.webp', 'p/')).toEqual(['p/42/x.webp']);
  });

  it('visits a shared or cyclic object once (a hand-written repository may hand out such records)', () => {
    const shared: Record<string, unknown> = { key: 'p/42/shared.webp' };
    shared.self = shared;
    const record = { a: shared, b: shared, c: [shared, shared, shared], d: { e: shared } };
    // Without the visited set this walks billions of paths and the test times out.
    expect(heldKeys(record, 'p/')).toEqual(['p/42/shared.webp']);
  });

  it('stops 16 levels down', () => {
    let deep: unknown = { key: 'p/42/deep.webp' };
    for (let level = 0; level < 20; level++) deep = { next: deep };
    expect(heldKeys({ shallow: 'p/42/shallow.webp', deep }, 'p/')).toEqual(['p/42/shallow.webp']);
  });
});
