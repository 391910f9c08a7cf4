/** Text helpers for the CLI's human-readable output. */

const UNITS = ['kB', 'MB', 'GB', 'TB'];

/** `1234567` → `'1.2 MB'` (decimal units, like `ls -h --si` and most storage consoles); under 1,000 → `'999 B'`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** Rows of [label, value] as aligned lines. */
export function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/** `'objects'` with a count: `3 objects`, `1 object`. */
export function plural(count: number, noun: string): string {
  return `${count} ${count === 1 ? noun.replace(/s$/, '') : noun}`;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `'90s'`, `'30m'`, `'1h'`, `'2d'`, `'500ms'` or `'0'` → milliseconds; anything else → undefined. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = DURATION.exec(text.trim());
  return match ? Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) : undefined;
}
