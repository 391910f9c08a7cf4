/**
 * What `sweep()` and `stats()` count as held, so never an orphan: every string under the prefix anywhere in a record,
 * not only the fields this release reads (variants, stills, master, history).
 *
 * Why: a record written by a newer release may reference objects from a field this one does not know (a master and
 * previous pictures were such fields once, and an older `sweep()` deleted them as orphans: README "Upgrading"). From
 * this release on, a sweep keeps whatever a record names, in any field. Conservative by design: a string that only
 * looks like a key keeps at most that one object from a sweep. `export()` lists the same keys, with their fields.
 */

/** Deeper than any record nests (history entries' variants are at depth 4); bounds the walk of a malformed row. */
const MAX_DEPTH = 16;

/** A value met on the walk, with what leads to it (so a key's field path is built only for keys). */
interface Step {
  value: unknown;
  depth: number;
  parent: Step | undefined;
  name: string;
}

/**
 * Calls `onKey` for every string value under `prefix` in `record`, at any depth (arrays and plain objects), in
 * document order, with a function that answers the field path holding it (`['history', '0', 'variants', 'sm',
 * 'key']`). A shared or cyclic object (a hand-written repository's; JSON has none) is walked once.
 * @example
 * ```ts
 * walkKeys(record, 'profile_pictures/', (key, path) => console.log(key, path().join('.')));
 * ```
 * @throws nothing: anything that is not an object, an array or a string is skipped.
 */
export function walkKeys(record: unknown, prefix: string, onKey: (key: string, path: () => string[]) => void): void {
  const seen = new WeakSet<object>();
  const stack: Step[] = [{ value: record, depth: 0, parent: undefined, name: '' }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const { value, depth } = step;
    if (typeof value === 'string') {
      if (value.startsWith(prefix)) onKey(value, () => pathOf(step));
    } else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH && !seen.has(value)) {
      seen.add(value);
      const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
      // Pushed last to first, so they come off the stack in document order.
      for (let index = entries.length - 1; index >= 0; index--) {
        const [name, child] = entries[index]!;
        stack.push({ value: child, depth: depth + 1, parent: step, name });
      }
    }
  }
}

/**
 * Every string value under `prefix` in `record`, without duplicates (see {@link walkKeys}).
 * @example
 * ```ts
 * heldKeys({ variants: { sm: { key: 'profile_pictures/42/a-sm.webp' } }, extra: ['profile_pictures/42/x'] }, 'profile_pictures/');
 * // ['profile_pictures/42/a-sm.webp', 'profile_pictures/42/x']
 * ```
 * @throws nothing.
 */
export function heldKeys(record: unknown, prefix: string): string[] {
  const found = new Set<string>();
  walkKeys(record, prefix, (key) => found.add(key));
  return [...found];
}

function pathOf(step: Step): string[] {
  const path: string[] = [];
  for (let at: Step | undefined = step; at?.parent; at = at.parent) path.push(at.name);
  return path.reverse();
}
