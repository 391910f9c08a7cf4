/**
 * The neutral request of `createRouteHandler()` built from a Node `IncomingMessage`: what the Express and Koa
 * adapters (and any adapter that owns the Node request) hand the shared handler.
 */
import type { IncomingMessage } from 'node:http';
import { discardBody, shouldCloseConnection } from '../../src/intake/drain.js';
import type { RouteRequest } from './handle.js';

/**
 * Wraps `req` for the shared handler. Its `discardUnread` is the socket-level lingering close of `drain.ts`: a body
 * not read to its end is discarded as the drain options say, and the reply closes the connection.
 *
 * @param url The raw path + query relative to the mount point (Express `req.url`, Koa `ctx.url`).
 * @param originalUrl The raw path + query as the client sent it (Express `req.originalUrl`, Koa `ctx.originalUrl`).
 * @param native What `getUser` and `onResult` receive (Express `req`, Koa `ctx`).
 * @example
 * ```ts
 * handle(nodeRouteRequest(ctx.req, ctx.url, ctx.originalUrl, ctx));
 * ```
 */
export function nodeRouteRequest<Native>(
  req: IncomingMessage,
  url: string,
  originalUrl: string,
  native: Native,
): RouteRequest<Native> {
  return {
    method: req.method ?? 'GET',
    url,
    originalUrl,
    headers: req.headers,
    body: req,
    request: req,
    native,
    discardUnread(drain) {
      if (!shouldCloseConnection(req)) return false;
      discardBody(req, drain);
      return true;
    },
  };
}
