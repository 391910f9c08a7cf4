/**
 * Whether a record still matches today's configuration, from the record alone — so `regenerate()` needs no state of
 * its own to resume: a record it already re-rendered matches and is skipped.
 *
 * A record is stale when its variant names differ from `variants`, a variant's width differs from the width it
 * would be rendered at today ({@link targetSides}), its `contentType` is not `output.format`'s, or its `rendition`
 * fingerprint names another format or quality (or, for a master without a crop, another `position`).
 *
 * Records written before the fingerprint existed have none: they count as stale only for what the record itself
 * shows (names, widths, format). A quality or position change alone leaves them as they are, because without a
 * master they would be re-rendered from their own widest variant — re-encoding an already lossy, already cropped
 * image for a change nobody could see is a loss, not a repair. Every record written since carries the fingerprint.
 */
import type { OutputFormat, Position } from './options.js';
import { encodingOf } from './render.js';
import type { PictureRecord } from './users/types.js';

/** The part of the configuration a record's variants depend on. */
export interface RenditionConfig {
  variants: Readonly<Record<string, number>>;
  output: { format: OutputFormat; quality: number };
  position: Position;
}

/**
 * The width each configured variant of `record` is rendered at today: the configured side when the record has a
 * master (an upload renders from its source the same way), else at most the record's widest variant — its only
 * source — so nothing is ever upscaled from a variant.
 */
export function targetSides(record: PictureRecord, variants: Readonly<Record<string, number>>): Record<string, number> {
  if (record.master) return { ...variants };
  const widest = Math.max(0, ...Object.values(record.variants ?? {}).map((variant) => variant.width));
  return Object.fromEntries(Object.entries(variants).map(([name, side]) => [name, Math.min(side, widest)]));
}

/** True when `record` does not match `config` (see the module comment). Tolerates a malformed record: stale. */
export function isStale(record: PictureRecord, config: RenditionConfig): boolean {
  const variants = record.variants;
  if (typeof variants !== 'object' || variants === null) return true;
  const names = Object.keys(config.variants);
  if (Object.keys(variants).length !== names.length || !names.every((name) => Object.hasOwn(variants, name))) return true;
  if (record.contentType !== encodingOf(config.output.format).contentType) return true;
  const sides = targetSides(record, config.variants);
  if (names.some((name) => variants[name]?.width !== sides[name])) return true;
  const rendition = record.rendition;
  if (!rendition) return false;
  if (rendition.format !== config.output.format || rendition.quality !== config.output.quality) return true;
  return Boolean(record.master && !record.master.crop && rendition.position !== config.position);
}
