/**
 * A picture's storage stream as a Node adapter sends it (Express, Koa, Fastify): once the `200` headers are out, a
 * stream that fails can only be answered by cutting the response, and nobody but the server sees why. So the
 * failure goes to the reply's `bodyFailed` (`onServerError`) — unless the response went first: a client that hangs
 * up has its storage stream destroyed, and whatever that stream then reports (a "Premature close", an S3 socket's
 * "aborted") is the client's doing.
 */
import type { ServerResponse } from 'node:http';
import { finished, type Readable } from 'node:stream';

/**
 * Watches `body` (piped into `res` by the caller or its framework). When it errors, or closes before its last byte
 * (Node's `ERR_STREAM_PREMATURE_CLOSE`), while `res` still stands, reports that error to `bodyFailed` and cuts `res`.
 * Does nothing when `res` closed or finished first, or when `dropped()` says the body was let go on purpose (Koa
 * middleware upstream answering with a body of its own).
 * @example
 * ```ts
 * watchStorageBody(reply.body, res, reply.bodyFailed);
 * reply.body.pipe(res);
 * ```
 */
export function watchStorageBody(
  body: Readable,
  res: ServerResponse,
  bodyFailed: ((cause: Error) => void) | undefined,
  dropped: () => boolean = () => false,
): void {
  // Whether the response went first. 'close' comes a tick after the response is destroyed, so when the storage fails
  // first this is still false even after a framework's pipeline has destroyed `res` in answer. When the client leaves
  // first, either 'close' came, or the socket is already destroyed: Koa destroys the body on the socket's 'error'
  // (a reset), before the response hears of it.
  let responseClosed = false;
  res.once('close', () => (responseClosed = true));
  finished(body, (err) => {
    const clientGone = responseClosed || res.socket?.destroyed === true;
    if (!err || clientGone || res.writableEnded || dropped()) return;
    bodyFailed?.(err);
    res.destroy();
  });
}
