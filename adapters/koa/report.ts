/**
 * The Koa adapter's default `onServerError`: Koa's own convention, `ctx.app.emit('error', error, ctx)`.
 *
 * Koa's default listener (`app.onerror`, which `app.callback()` installs when the app has none) prints only
 * `err.stack`: for a `ProfilePictureError` that is "The picture could not be stored." without the reason, which sits
 * in `error.cause` (ENOSPC, an S3 error). So when Koa's own printer is the only listener, it is handed a view of the
 * error whose stack ends with the cause, as Node would print it; it still honours `app.silent`. A listener of the
 * app's own (`app.on('error')`, an `app.onerror` it assigned or a subclass overrides) gets the error itself, its
 * `cause` and stack untouched, so nothing changes for an app that logs errors its way.
 */
import { inspect } from 'node:util';
import type { Context } from 'koa';
import type { ProfilePictureError } from '../../src/errors.js';

/**
 * Emits `error` on the app's 'error' event, with its cause in the stack when only Koa's own printer listens.
 * @example
 * ```ts
 * createRouteHandler(pictures, options, emitOnApp);
 * ```
 */
export function emitOnApp(error: ProfilePictureError, ctx: Context): void {
  const { app } = ctx;
  const listeners = app.listeners('error');
  const printedByKoa = listeners.length === 1 && listeners[0] === koaOwnOnerror(app);
  app.emit('error', printedByKoa && error.cause !== undefined ? withCauseInStack(error) : error, ctx);
}

// --- internal ---

/** `onerror` as Koa's Application class defines it: the farthest one up the prototype chain. */
function koaOwnOnerror(app: object): unknown {
  let found: unknown;
  for (let proto = Object.getPrototypeOf(app); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'onerror')) found = (proto as { onerror: unknown }).onerror;
  }
  return found;
}

/** The error with a stack that goes on with its cause; everything else (code, status, expose) read from it. */
function withCauseInStack(error: ProfilePictureError): ProfilePictureError {
  const stack = `${error.stack ?? String(error)}\nCaused by: ${inspect(error.cause)}`;
  return Object.create(error, { stack: { value: stack, configurable: true, writable: true } }) as ProfilePictureError;
}
