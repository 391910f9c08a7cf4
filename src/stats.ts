/**
 * `pictures.stats()`: what storage holds under the prefix, set against what the records reference. Storage is the
 * truth for sizes (a record's `bytes` says what was written, not what is there); the records say which objects are in
 * use and under which variant name.
 */
import { phaseReporter } from './progress-hook.js';
import { hasPicture } from './record-state.js';
import type { ObjectInfo } from './storage/types.js';
import type { PictureRecord } from './users/types.js';

/** A count of objects and their total size in bytes. */
export interface ObjectTally {
  objects: number;
  bytes: number;
}

/** What {@link ProfilePictures.stats} counted. */
export interface PictureStats {
  /** Users with a picture (records yielded by `users.listPictures()`, tombstones not counted). */
  users: number;
  /** Every object under the prefix, referenced or not, with its stored size. */
  objects: number;
  /** Total size of {@link PictureStats.objects} in bytes. */
  bytes: number;
  /** Objects some record references (also from a field this release does not know, as `sweep()` keeps them). */
  referenced: ObjectTally;
  /** Referenced objects by the variant name the records give them (`sm`, `md`, …, and names no longer configured). */
  variants: Record<string, ObjectTally>;
  /** Referenced stills: the first frames of animated variants (option `animated`). */
  stills: ObjectTally;
  /** Referenced masters: the clean sources `regenerate()` renders from, never served (option `master`). */
  masters: ObjectTally;
  /**
   * Objects held by previous pictures (option `history`): their variants, stills and masters, counted here and not
   * under `variants`, `stills` or `masters`, which tally the current pictures.
   */
  history: ObjectTally;
  /**
   * Objects under the prefix no record references: left by a crash, a failed or skipped delete, or an upload still
   * in flight. `sweep()` deletes those older than its grace period.
   */
  orphans: ObjectTally;
  /** Keys records reference that storage does not hold. 0 unless something deleted objects behind the library's back. */
  missing: number;
}

/** Options of {@link ProfilePictures.stats}. */
export interface StatsOptions {
  /**
   * Called as the count goes, for a progress display: every 100 objects listed, then every 100 records read, and at
   * the end of each of the two walks. Neither total is known before its walk ends. Not awaited; what it throws is
   * ignored.
   * @example onProgress: ({ phase, objects, records }) => console.error(`${phase}: ${objects} objects, ${records} records`)
   */
  onProgress?: (progress: StatsProgress) => void;
}

/** What {@link StatsOptions.onProgress} receives: how far `stats()` has got. */
export interface StatsProgress {
  /** `'objects'` while storage is listed, then `'records'` while the records are read. */
  phase: 'objects' | 'records';
  /** Objects listed so far (all of them, once `phase` is `'records'`). */
  objects: number;
  /** Records read so far. */
  records: number;
}

/** What {@link countPictures} reads. Both listings go through the service's backend timeouts. */
export interface StatsSources {
  objects: AsyncIterable<ObjectInfo>;
  records: () => AsyncIterable<{ userId: string; record: PictureRecord }>;
  /** Every key a record references (variants, and whatever else the record holds). */
  keysOf: (record: PictureRecord) => string[];
  /** Every key `sweep()` keeps for the record: `keysOf`'s and any other a field names (held-keys.ts). */
  held: (record: PictureRecord) => string[];
  /** The app's hook, already wrapped by `progressHook()`. */
  onProgress?: ((progress: StatsProgress) => void) | undefined;
}

/**
 * Lists the objects, then the records, and tallies them. Writes go on meanwhile, so it is a snapshot of a moving
 * target: a picture committed or removed during the count may show as an orphan or as missing.
 * Memory: one map entry per object under the prefix (and one per missing key), which the records' keys mark as they
 * are read; nothing else grows with the install.
 */
export async function countPictures({ objects, records, keysOf, held: heldBy, onProgress }: StatsSources): Promise<PictureStats> {
  let phase: StatsProgress['phase'] = 'objects';
  let scanned = 0;
  let read = 0;
  const report = phaseReporter(onProgress, () => ({ phase, objects: scanned, records: read }));
  const marks = new Map<string, number>();
  let bytes = 0;
  for await (const object of objects) {
    marks.set(object.key, object.size);
    bytes += object.size;
    report.item(++scanned);
  }
  report.end();
  phase = 'records';
  const listed = marks.size;
  /** What sweep() keeps: the objects some record names, in any field (a newer release's too). */
  const used = { objects: 0, bytes: 0 };
  const variants = new Map<string, ObjectTally>(); // a Map: a record's variant names are data, `__proto__` included
  const stills = { objects: 0, bytes: 0 };
  const masters = { objects: 0, bytes: 0 };
  const history = { objects: 0, bytes: 0 };
  let users = 0;
  let missing = 0;
  for await (const { record } of records()) {
    read++;
    if (hasPicture(record)) users++; // a tombstone's history objects are referenced, but it is no picture
    const previous = Array.isArray(record.history) ? record.history : [];
    const historyKeys = new Set(previous.flatMap((entry) => keysOf(entry as unknown as PictureRecord)));
    const stillKeys = new Set(Object.values(record.stills ?? {}).map((still) => still?.key));
    const named = new Map<string, string>();
    for (const [name, variant] of Object.entries(record.variants ?? {})) {
      if (typeof variant?.key === 'string') named.set(variant.key, name);
    }
    for (const key of keysOf(record)) {
      const mark = marks.get(key);
      if (mark === COUNTED || mark === MISSING) continue; // never counted twice, even if two records named one key
      if (mark === undefined) {
        marks.set(key, MISSING);
        missing++;
        continue;
      }
      marks.set(key, COUNTED);
      const size = sizeOf(mark);
      if (mark >= 0) add(used, size); // not held by an earlier record yet
      if (historyKeys.has(key)) {
        add(history, size);
        continue;
      }
      if (stillKeys.has(key)) add(stills, size);
      if (key === record.master?.key) add(masters, size);
      const name = named.get(key);
      if (name === undefined) continue;
      if (!variants.has(name)) variants.set(name, { objects: 0, bytes: 0 });
      add(variants.get(name)!, size);
    }
    // Keys only a field this release does not read names: kept by sweep(), so not orphans; in no tally but `used`.
    for (const key of heldBy(record)) {
      const mark = marks.get(key);
      if (mark === undefined || !(mark >= 0) || mark === COUNTED) continue;
      marks.set(key, -1 - mark);
      add(used, mark);
    }
    report.item(read);
  }
  report.end();
  const orphans = { objects: 0, bytes: 0 };
  for (const mark of marks.values()) if (mark >= 0 && mark !== COUNTED) add(orphans, mark);
  return { users, objects: listed, bytes, referenced: used, variants: Object.fromEntries(variants), stills, masters, history, orphans, missing };
}

// --- internal ---

/*
 * A key's mark in countPictures(): its size (>= 0) while no record has named it — an orphan, if it stays so;
 * `-1 - size` once a record holds it through a field only held() reads (its size kept for a later record that
 * references it); COUNTED once tallied; MISSING for a key records reference that storage does not hold.
 */
const COUNTED = Number.POSITIVE_INFINITY;
const MISSING = Number.NEGATIVE_INFINITY;

/** The size a listed key's mark carries (unnamed, or held only). */
function sizeOf(mark: number): number {
  return mark >= 0 ? mark : -1 - mark;
}

function add(tally: ObjectTally, size: number): void {
  tally.objects++;
  tally.bytes += size;
}
