/**
 * The uploaded file's bytes, gathered as busboy hands them over.
 *
 * When the request declares its length, the file cannot be longer than that (nor than the size limit), so its bytes
 * are copied into one buffer of that size as they arrive: each socket chunk is garbage as soon as it is copied, and
 * no `Buffer.concat` runs — with its 4 MB copy on the answer's path, and a moment where the chunks and their copy
 * are both in memory — once the body has ended. Without a declared length, or should more arrive than it said, the
 * chunks are kept and joined at the end. The buffer belongs to one request: it is never pooled or reused, so
 * nothing another upload holds can be overwritten.
 */

/** Collects one file; see the module comment. */
export interface FileBytes {
  /** Appends a chunk: copied into the buffer when the length was declared, otherwise kept as it is. */
  push(chunk: Buffer): void;
  /** Every byte pushed, contiguous. */
  bytes(): Buffer;
  /** Drops what was collected (a refused upload). */
  clear(): void;
}

/**
 * A collector for a file of at most `capacity` bytes (`undefined`: unknown). The buffer is allocated on the first
 * chunk, uninitialised: only the bytes written are ever read.
 * @example
 * ```ts
 * const file = collectFile(declaredLength(req.headers['content-length'], limits.fileSize));
 * stream.on('data', (chunk) => file.push(chunk));
 * stream.on('end', () => done(file.bytes()));
 * ```
 */
export function collectFile(capacity: number | undefined): FileBytes {
  let buffer: Buffer | undefined;
  let length = 0;
  let chunks: Buffer[] = [];
  return {
    push(chunk) {
      if (capacity !== undefined && length + chunk.byteLength <= capacity) {
        buffer ??= Buffer.allocUnsafeSlow(capacity);
        chunk.copy(buffer, length);
      } else {
        // Longer than declared (or undeclared): from here on, chunks joined at the end.
        if (buffer) chunks.push(buffer.subarray(0, length));
        buffer = undefined;
        capacity = undefined;
        chunks.push(chunk);
      }
      length += chunk.byteLength;
    },
    bytes() {
      return buffer ? buffer.subarray(0, length) : Buffer.concat(chunks, length);
    },
    clear() {
      buffer = undefined;
      chunks = [];
      length = 0;
    },
  };
}

/**
 * The most bytes a file in a body of the declared `Content-Length` can have, capped at `fileSize`; `undefined` when
 * no valid length is declared.
 */
export function declaredLength(contentLength: string | undefined, fileSize: number): number | undefined {
  if (contentLength === undefined || !/^\d+$/.test(contentLength)) return undefined;
  return Math.min(Number(contentLength), fileSize);
}
