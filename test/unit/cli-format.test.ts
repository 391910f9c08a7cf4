/** The CLI's text helpers: durations it accepts for --older-than, and how it prints sizes and counts. */
import { describe, expect, it } from 'vitest';
import { formatBytes, parseDuration, plural, table } from '../../src/cli/format.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '1', '10', 'h', '1 h', '-1h', '1w', 'an hour', '1h30m', 'Infinityh'])('%j is refused', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatBytes, plural, table', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1555, '1.6 kB'],
    [17_400, '17 kB'],
    [5_300_000, '5.3 MB'],
    [2e12, '2.0 TB'],
    [3e15, '3000 TB'],
  ])('%d bytes → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it('agrees the noun with the count and aligns labels', () => {
    expect([plural(0, 'objects'), plural(1, 'objects'), plural(2, 'objects')]).toEqual(['0 objects', '1 object', '2 objects']);
    expect(table([['users', '2'], ['orphans', '1 object']])).toEqual(['users    2', 'orphans  1 object']);
  });
});
