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

/**
 * Throws for the first key of `value` that is not one of `known`, naming it and, when one is close, the option the
 * caller probably meant: a misspelled option is otherwise silently ignored (`limits: { filesize }` keeps the
 * default limit). `path` is where `value` sits (`''` at the top level); `elsewhere` lists options at other levels
 * (`'limits.fileSize'`) so a flattened name (`maxFileSize`, `outputFormat`) points to its real place.
 * @throws TypeError ``[profile-picture] Unknown option `limits.filesize`; did you mean `limits.fileSize`?``
 * @example
 * ```ts
 * rejectUnknownKeys('limits', { filesize: 1 }, ['fileSize', 'inputPixels']);
 * ```
 */
export function rejectUnknownKeys(
  path: string,
  value: Record<string, unknown>,
  known: readonly string[],
  elsewhere: readonly string[] = [],
): void {
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown === undefined) return;
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  const suggestion = closestOption(path, unknown, [...known.map(at), ...elsewhere]);
  const hint = suggestion ? `did you mean \`${suggestion}\`?` : `expected one of ${known.map((key) => `\`${at(key)}\``).join(', ')}`;
  throw new TypeError(`[profile-picture] Unknown option \`${at(unknown)}\`; ${hint}`);
}

/**
 * The keys of `names` — an object literal with one entry per option of `T`, so the compiler reports an option
 * missing from the list (or listed but not in `T`) when the interface changes.
 * @example
 * ```ts
 * const LIMIT_NAMES = optionNames<LimitsOptions>({ fileSize: 1, inputPixels: 1, minSide: 1, bodyTimeout: 1, uploadsPerUser: 1 });
 * ```
 */
export function optionNames<T>(names: Record<keyof T, 1>): string[] {
  return Object.keys(names);
}

// --- internal ---

/**
 * The candidate (a dotted option path) that `key`, found at `path`, most likely meant, or undefined when none is
 * close. Best first: the same letters in another case or punctuation (`filesize`, or `outputFormat` for
 * `output.format`); then shared words, counting the level the key sits at (`maxFileSize` → `limits.fileSize`,
 * `timeouts: { storage }` → `timeouts.storageMs`, `redirect` → `redirectTo`); then a typo a few letters off.
 */
function closestOption(path: string, key: string, candidates: readonly string[]): string | undefined {
  const wanted = normalise(key);
  const wantedPath = normalise(path === '' ? key : `${path}.${key}`);
  const keyWords = wordsOf(key);
  const contextWords = path === '' ? [] : wordsOf(path);
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const dot = candidate.lastIndexOf('.');
    const leaf = candidate.slice(dot + 1);
    const sameLevel = (dot === -1 ? '' : candidate.slice(0, dot)) === path;
    const words = wordsOf(candidate);
    const shared = keyWords.filter((word) => words.includes(word)).length;
    let score = Number.POSITIVE_INFINITY;
    if ((sameLevel && normalise(leaf) === wanted) || normalise(candidate) === wantedPath) score = 0;
    else if (shared > 0) {
      const all = [...keyWords, ...contextWords];
      const matched = all.filter((word) => words.includes(word)).length;
      score = 1 + (1 - matched / all.length) + 0.01 * words.filter((word) => !all.includes(word)).length;
    } else {
      const distance = editDistance(wanted, normalise(leaf));
      if (distance <= Math.max(1, Math.floor(leaf.length / 4))) score = 3 + distance;
    }
    if (score < (best?.score ?? Number.POSITIVE_INFINITY)) best = { candidate, score };
  }
  return best?.candidate;
}

/** `'timeouts.storageMs'` → `['timeout', 'storage', 'ms']`: lower-case words, a plural `s` dropped. */
function wordsOf(name: string): string[] {
  return name
    .split(/[._-]+|(?<=[a-z0-9])(?=[A-Z])/)
    .map((word) => word.toLowerCase())
    .filter((word) => word !== '')
    .map((word) => (word.length > 3 && word.endsWith('s') ? word.slice(0, -1) : word));
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
