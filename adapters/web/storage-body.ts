/**
 * A picture's storage stream as a web `Response` body. Unlike `Readable.toWeb()`, it tells the stream failing (the
 * storage's fault: reported) from the consumer cancelling it (a client that hung up: `@hono/node-server` cancels the
 * body when the connection closes, and the storage stream destroyed in answer may then report an error of its own).
 */
import type { Readable } from 'node:stream';

/**
 * A web stream over `body`. When `body` errors, or closes before its end (`ERR_STREAM_PREMATURE_CLOSE`), before the
 * consumer cancelled, `bodyFailed` gets that error and the web stream errors with it, so the server cuts the
 * response. Cancelling destroys `body`, releasing its file handle or connection.
 * @example
 * ```ts
 * new Response(storageBodyStream(reply.body, reply.bodyFailed), { status: reply.status, headers: reply.headers });
 * ```
 */
export function storageBodyStream(body: Readable, bodyFailed: ((cause: Error) => void) | undefined): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await chunks.next();
      } catch (err) {
        if (cancelled) return;
        bodyFailed?.(err as Error);
        throw err;
      }
      if (cancelled) return;
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    cancel() {
      cancelled = true;
      body.destroy();
    },
  });
}
