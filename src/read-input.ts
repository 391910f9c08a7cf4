/**
 * Collects an upload's bytes into memory, bounded by the size limit. A stream stops being read as soon as it passes
 * the limit, so an oversized upload costs at most the limit plus one chunk.
 */
import { Readable } from 'node:stream';
import type { ErrorFactory } from './errors.js';
import { describe } from './validate.js';

/** What `upload()` accepts. */
export type UploadInput = Uint8Array | Readable;

/**
 * Reads `input` fully, failing with `FILE_TOO_LARGE` past `limit` bytes and with `ABORTED` when `signal` fires.
 * @throws TypeError when `input` is neither bytes nor a Readable.
 */
export async function readInput(
  input: UploadInput,
  limit: number,
  fail: ErrorFactory,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (input instanceof Uint8Array) {
    if (input.byteLength > limit) throw tooLarge(fail, limit, input.byteLength);
    return input;
  }
  if (!(input instanceof Readable) && !isReadableLike(input)) {
    throw new TypeError(
      `[profile-picture] Expected a Buffer, Uint8Array or Readable for \`input\` but received ${describe(input)}`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const onAbort = () => (input as Readable).destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of input as AsyncIterable<unknown>) {
      const buffer = toBuffer(chunk);
      total += buffer.byteLength;
      if (total > limit) {
        // Leaving the loop destroys the stream: nothing more is pulled from the source.
        throw tooLarge(fail, limit, total);
      }
      chunks.push(buffer);
    }
  } catch (cause) {
    if (signal?.aborted) throw fail('ABORTED', { cause });
    throw cause;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw fail('ABORTED');
  return Buffer.concat(chunks, total);
}

// --- internal ---

function tooLarge(fail: ErrorFactory, limit: number, received: number) {
  return fail('FILE_TOO_LARGE', { details: { limit, received } });
}

function toBuffer(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  // An object-mode stream of something else is a programming error, not a client's bad upload.
  throw new TypeError(`[profile-picture] Expected \`input\` to yield bytes but it yielded ${describe(chunk)}`);
}

function isReadableLike(value: unknown): value is Readable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Readable).pipe === 'function' &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}
