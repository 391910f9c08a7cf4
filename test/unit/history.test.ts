/**
 * History and restore on memory and disk storage × the memory repository and the example app's SQLite repository
 * (PostgreSQL: history-postgres.test.ts); the scenarios live in history-suite.ts. Plus the option's validation.
 */
import { describe, expect, it } from 'vitest';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';
import { BACKEND_MATRIX } from '../helpers/backends.js';
import { describeHistory } from './history-suite.js';

for (const [name, createBackends] of BACKEND_MATRIX) describeHistory(name, createBackends);

describe('option history', () => {
  const create = (history: unknown) =>
    createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), history: history as never });

  it('defaults to { keep: 0 } and takes 0–20', () => {
    expect(create(undefined).options.history).toEqual({ keep: 0 });
    expect(create({}).options.history).toEqual({ keep: 0 });
    expect(create({ keep: 20 }).options.history).toEqual({ keep: 20 });
    expect(Object.isFrozen(create({ keep: 3 }).options.history)).toBe(true);
  });

  it('refuses anything else, naming the option', () => {
    expect(() => create({ keep: 21 })).toThrow(new RangeError('[profile-picture] Expected an integer between 0 and 20 for `history.keep` but received 21 (number)'));
    expect(() => create({ keep: -1 })).toThrow(RangeError);
    expect(() => create({ keep: 1.5 })).toThrow(/`history\.keep`/);
    expect(() => create({ keep: '3' })).toThrow(new TypeError('[profile-picture] Expected an integer between 0 and 20 for `history.keep` but received "3" (string)'));
    expect(() => create(3)).toThrow(new TypeError('[profile-picture] Expected an object for `history` but received 3 (number)'));
    expect(() => create({ kep: 3 })).toThrow(new TypeError('[profile-picture] Unknown option `history.kep`; did you mean `history.keep`?'));
    expect(() => createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), keep: 3 } as never)).toThrow(
      /Unknown option `keep`; did you mean `history\.keep`\?/,
    );
  });
});
