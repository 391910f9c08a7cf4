/**
 * What `sweep()` and `stats()` count as held, so never an orphan: every string under the prefix anywhere in a record,
 * not only the fields this release reads (variants, stills, master, history).
 *
 * Why: a record written by a newer release may reference objects from a field this one does not know (a master and
 * previous pictures were such fields once, and an older `sweep()` deleted them as orphans: README "Upgrading"). From
 * this release on, a sweep keeps whatever a record names, in any field. Conservative by design: a string that only
 * looks like a key keeps at most that one object from a sweep.
 */

/** Deeper than any record nests (history entries' variants are at depth 4); bounds the walk of a malformed row. */
const MAX_DEPTH = 16;

/**
 * Every string value under `prefix` in `record`, at any depth (arrays and plain objects), without duplicates.
 * @example
 * ```ts
 * heldKeys({ variants: { sm: { key: 'profile_pictures/42/a-sm.webp' } }, extra: ['profile_pictures/42/x'] }, 'profile_pictures/');
 * // ['profile_pictures/42/a-sm.webp', 'profile_pictures/42/x']
 * ```
 * @throws nothing: anything that is not an object, an array or a string is skipped.
 */
export function heldKeys(record: unknown, prefix: string): string[] {
  const found = new Set<string>();
  const seen = new WeakSet<object>(); // a hand-written repository's record may share or cycle objects; JSON cannot
  const stack: Array<[object, number]> = [];
  const visit = (value: unknown, depth: number) => {
    if (typeof value === 'string') {
      if (value.startsWith(prefix)) found.add(value);
    } else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH && !seen.has(value)) {
      seen.add(value);
      stack.push([value, depth]);
    }
  };
  visit(record, 0);
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    for (const child of Array.isArray(value) ? value : Object.values(value)) visit(child, depth + 1);
  }
  return [...found];
}
