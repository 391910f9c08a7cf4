/**
 * `lock()` / `unlock()` and `limits.changes` (issue 11 §5) on memory and disk storage × the memory repository and
 * the example app's SQLite repository (the scenarios: lock-limits-suite.ts; PostgreSQL: lock-limits-postgres.test.ts),
 * plus the option's validation and the pure helpers. Over HTTP: lock-limits-http.test.ts; in real processes:
 * lock-limits-processes.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkChanges, withChange } from '../../src/change-limit.js';
import { createProfilePictures, memoryStorage, memoryUserRepository, type PictureRecord } from '../../src/index.js';
import { BACKEND_MATRIX } from '../helpers/backends.js';
import { describeLockLimits } from './lock-limits-suite.js';

const USERS = ['u1', 'u2'];
/** The matrix's backends are released once every scenario ran (the suite keeps none of its own). */
const disposers: Array<() => Promise<void>> = [];
afterAll(() => Promise.all(disposers.map((dispose) => dispose())));

for (const [name, createBackends] of BACKEND_MATRIX) {
  describeLockLimits(name, async () => {
    const backends = await createBackends(USERS);
    if (backends.dispose) disposers.push(backends.dispose);
    return backends;
  });
}

describe('limits.changes options', () => {
  const base = { storage: memoryStorage(), users: memoryUserRepository() };
  it.each([
    [{ max: 0, perMs: 1000 }, RangeError, 'Expected a positive integer for `limits.changes.max` but received 0 (number)'],
    [{ max: 2 }, TypeError, 'Expected a positive integer for `limits.changes.perMs` but received undefined'],
    [{ max: 2, perMs: 1.5 }, RangeError, 'Expected a positive integer for `limits.changes.perMs` but received 1.5 (number)'],
    [{ max: 2, per: 1000 }, TypeError, 'Unknown option `limits.changes.per`; did you mean `limits.changes.perMs`?'],
    [5, TypeError, 'Expected an object { max, perMs } or false for `limits.changes` but received 5 (number)'],
    [true, TypeError, 'Expected an object { max, perMs } or false for `limits.changes` but received true (boolean)'],
  ])('limits.changes: %j throws', (changes, type, message) => {
    expect(() => createProfilePictures({ ...base, limits: { changes } as never })).toThrow(new type(`[profile-picture] ${message}`));
  });

  it('resolves to null when off (the default, or false) and freezes the limit', () => {
    expect(createProfilePictures(base).options.limits.changes).toBeNull();
    expect(createProfilePictures({ ...base, limits: { changes: false } }).options.limits.changes).toBeNull();
    const { changes } = createProfilePictures({ ...base, limits: { changes: { max: 3, perMs: 60_000 } } }).options.limits;
    expect(changes).toEqual({ max: 3, perMs: 60_000 });
    expect(Object.isFrozen(changes)).toBe(true);
  });
});

describe('checkChanges / withChange (pure; for any write that counts as a change)', () => {
  const limit = { max: 2, perMs: 60_000 };
  const now = Date.parse('2026-12-02T12:00:00.000Z');
  const at = (msAgo: number) => new Date(now - msAgo).toISOString();
  const record = (changes: unknown) => ({ changes }) as PictureRecord;

  it('counts only changes inside the window; answers the seconds until the oldest counted one leaves it', () => {
    expect(checkChanges(null, limit, now)).toBe(0);
    expect(checkChanges(record([at(10_000)]), limit, now)).toBe(0);
    expect(checkChanges(record([at(61_000), at(10_000)]), limit, now)).toBe(0);
    expect(checkChanges(record([at(30_500), at(10_000)]), limit, now)).toBe(30);
    expect(checkChanges(record([at(50_000), at(40_000), at(10_000)]), limit, now)).toBe(20); // the 2nd newest frees a slot
    expect(checkChanges(record([at(10_000), at(20_000)]), null, now)).toBe(0); // no limit
    expect(checkChanges(record('garbage'), limit, now)).toBe(0);
    expect(checkChanges(record([at(1_000), 'garbage', 7]), limit, now)).toBe(0);
  });

  it('withChange prunes to the window and the last max − 1, then appends now; {} without a limit', () => {
    expect(withChange(null, limit, now)).toEqual({ changes: [at(0)] });
    expect(withChange(record([at(70_000), at(50_000), at(10_000)]), limit, now)).toEqual({ changes: [at(10_000), at(0)] });
    expect(withChange(record([at(10_000)]), { max: 1, perMs: 60_000 }, now)).toEqual({ changes: [at(0)] });
    expect(withChange(record([at(10_000)]), null, now)).toEqual({});
  });
});

describe('restore() is a picture change', () => {
  it('is refused while locked and over limits.changes, and counted', async () => {
    const { distinctImages } = await import('../helpers/images.js');
    const images = await distinctImages(3);
    const storage = memoryStorage();
    const users = memoryUserRepository();
    const pictures = createProfilePictures({
      storage,
      users,
      master: false,
      history: { keep: 2 },
      limits: { changes: { max: 3, perMs: 60 * 60_000 } },
    });
    const first = await pictures.upload('u1', images[0]!);
    await pictures.upload('u1', images[1]!);
    await pictures.lock('u1', 'spam');
    const locked = await pictures.restore('u1', first.version).catch((error: unknown) => error);
    expect(locked).toMatchObject({ code: 'LOCKED', status: 403, details: { reason: 'spam' } });
    await pictures.unlock('u1');
    const restored = await pictures.restore('u1', first.version);
    expect(restored.changes).toHaveLength(3); // two uploads and the restore
    const [previous] = await pictures.history('u1');
    const over = await pictures.restore('u1', previous!.version).catch((error: unknown) => error);
    expect(over).toMatchObject({ code: 'TOO_MANY_CHANGES', status: 429 });
    expect((await pictures.get('u1'))!.version).toBe(restored.version);
  });
});
