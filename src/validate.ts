/** Tiny guards for option validation; messages name the option path, the expectation and what was received. */

/** Describes a received value for an error message: `"5mb" (string)`, `-1 (number)`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${String(value)} (${typeof value})`;
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/**
 * The error for an invalid option: a `RangeError` when a number was expected and a number out of range was received
 * (`range: true`), else a `TypeError` (`limits: 5` is a wrong type, not a wrong range).
 */
export function invalidOption(path: string, expected: string, actual: unknown, { range = false } = {}): Error {
  const message = `[profile-picture] Expected ${expected} for \`${path}\` but received ${describe(actual)}`;
  return range && typeof actual === 'number' ? new RangeError(message) : new TypeError(message);
}

/** True for a non-null, non-array object (class instances included: storages may be built from classes). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns `value` when it is an integer ≥ 1. @throws RangeError (a number) or TypeError naming `path`. */
export function positiveInteger(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw invalidOption(path, 'a positive integer', value, { range: true });
  }
  return value;
}

/** Returns `value` when it is an integer in [min, max]. @throws RangeError (a number) or TypeError naming `path`. */
export function integerInRange(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(path, `an integer between ${min} and ${max}`, value, { range: true });
  }
  return value;
}

/** Returns `value` when it is one of `allowed`. @throws TypeError naming `path` and the allowed values. */
export function oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidOption(path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Returns `value` when it is a non-empty string. @throws TypeError naming `path`. */
export function nonEmptyString(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidOption(path, 'a non-empty string', value);
  return value;
}
