/**
 * The intake's file collector: one buffer of the declared length written as chunks arrive, or the chunks joined when
 * no length is declared or more arrives than declared — the same bytes either way.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collectFile, declaredLength } from '../../src/intake/file-bytes.js';

const pieces = (bytes: Buffer, size: number) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));

describe('collectFile', () => {
  it('with a declared length: the bytes copied into one buffer, the chunks free to be reused at once', () => {
    const bytes = randomBytes(10_000);
    const file = collectFile(10_200); // the envelope makes the declared length a little longer than the file
    const scratch = Buffer.alloc(1000);
    for (const piece of pieces(bytes, 1000)) {
      piece.copy(scratch);
      file.push(scratch);
      scratch.fill(0); // a chunk reused after the push must not change what was collected
    }
    expect(file.bytes().equals(bytes)).toBe(true);
    expect(file.bytes().byteLength).toBe(10_000);
  });

  it('without a declared length, or past it: every chunk, in order', () => {
    const bytes = randomBytes(5000);
    for (const capacity of [undefined, 0, 1, 2500, 4999]) {
      const file = collectFile(capacity);
      for (const piece of pieces(bytes, 700)) file.push(piece);
      expect(file.bytes().equals(bytes), `capacity ${capacity}`).toBe(true);
    }
  });

  it('clear() drops what was collected', () => {
    const file = collectFile(100);
    file.push(Buffer.from('abc'));
    file.clear();
    expect(file.bytes().byteLength).toBe(0);
  });
});

describe('declaredLength', () => {
  it('the Content-Length capped at the size limit; undefined when absent or not a plain number', () => {
    expect(declaredLength('1234', 5000)).toBe(1234);
    expect(declaredLength('9000', 5000)).toBe(5000);
    for (const header of [undefined, '', '-1', '12abc', '1e3', ' 12']) expect(declaredLength(header, 5000)).toBeUndefined();
  });
});
