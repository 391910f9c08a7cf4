/** readInput(): bytes in memory, bounded by the limit, whatever shape the input has. */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createErrorFactory } from '../../src/errors.js';
import { readInput } from '../../src/read-input.js';
import { rejectionOf } from '../fixtures/service.js';

const fail = createErrorFactory();

/** A stream that would produce `total` bytes in `chunk`-sized pieces, counting what was pulled from it. */
function countingStream(total: number, chunk: number) {
  const counter = { pulled: 0 };
  const stream = new Readable({
    read() {
      if (counter.pulled >= total) return void this.push(null);
      const size = Math.min(chunk, total - counter.pulled);
      counter.pulled += size;
      this.push(Buffer.alloc(size, counter.pulled % 251));
    },
  });
  return { stream, counter };
}

describe('bytes', () => {
  it('returns a Buffer or Uint8Array as is when it fits (the limit is inclusive)', async () => {
    const buffer = Buffer.from('abcdef');
    expect(await readInput(buffer, 6, fail)).toBe(buffer);
    const array = new Uint8Array([1, 2, 3]);
    expect(await readInput(array, 3, fail)).toBe(array);
  });

  it('FILE_TOO_LARGE one byte over the limit, with the numbers in details', async () => {
    const error = await rejectionOf(readInput(Buffer.alloc(7), 6, fail));
    expect([error.code, error.status]).toEqual(['FILE_TOO_LARGE', 413]);
    expect(error.details).toEqual({ limit: 6, received: 7 });
  });
});

describe('streams', () => {
  it('concatenates chunks in order, including string chunks', async () => {
    const bytes = await readInput(Readable.from([Buffer.from('ab'), 'cd', new Uint8Array([101, 102])]), 100, fail);
    expect(Buffer.from(bytes).toString()).toBe('abcdef');
  });

  it('reads a stream of exactly the limit', async () => {
    const { stream } = countingStream(10_000, 1000);
    expect((await readInput(stream, 10_000, fail)).byteLength).toBe(10_000);
  });

  it('stops pulling from a 50 MB stream once it passes the limit and destroys it', async () => {
    const chunk = 16 * 1024;
    const { stream, counter } = countingStream(50 * 1000 * 1000, chunk);
    const limit = 1024 * 1024;
    const error = await rejectionOf(readInput(stream, limit, fail));
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.details?.limit).toBe(limit);
    expect(counter.pulled).toBeGreaterThan(limit);
    expect(counter.pulled).toBeLessThanOrEqual(limit + chunk + stream.readableHighWaterMark);
    expect(stream.destroyed).toBe(true);
  });

  it('ABORTED when the signal fires mid-stream; the stream is destroyed', async () => {
    const stream = new PassThrough();
    const controller = new AbortController();
    const reading = readInput(stream, 1000, fail, controller.signal);
    stream.write(Buffer.alloc(10));
    setImmediate(() => controller.abort());
    const error = await rejectionOf(reading);
    expect(error.code).toBe('ABORTED');
    expect(stream.destroyed).toBe(true);
  });

  it('a stream error reaches the caller unchanged', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await expect(readInput(broken, 1000, fail)).rejects.toThrow('disk on fire');
  });
});

describe('programming errors', () => {
  it.each([
    [null, 'null'],
    ['a string', '"a string" (string)'],
    [42, '42 (number)'],
    [{ pipe: 'no' }, 'an object'],
  ])('%o → TypeError naming what was received', async (input, described) => {
    await expect(readInput(input as never, 10, fail)).rejects.toThrow(
      new TypeError(`[profile-picture] Expected a Buffer, Uint8Array or Readable for \`input\` but received ${described}`),
    );
  });

  it('an object-mode stream of non-bytes → TypeError', async () => {
    await expect(readInput(Readable.from([{ a: 1 }]), 10, fail)).rejects.toThrow(
      '[profile-picture] Expected `input` to yield bytes but it yielded an object',
    );
  });
});
