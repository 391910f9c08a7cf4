/**
 * The web frameworks P can be measured on: name → a function that mounts the library's routes for that framework
 * and returns a Node request handler. ours.mjs picks one with the FRAMEWORK env; run.mjs names the contenders that
 * use it (see CONTENDERS there). Adding a framework is one entry here and one contender line there.
 *
 * A mount serves the upload route (`POST /upload-profile-picture/`) and the media route (`GET /media/<key>`) with
 * the adapter's defaults, gives every keep-alive connection its own user (`getUser`), and may serve the storage
 * root as plain static files under `/static` (only the Express one does: the GET comparison is against
 * `express.static`). Each is wired as the README's quick start for that framework wires it.
 */
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * @typedef {object} MountOptions
 * @property {string} dist        the built package
 * @property {any} pictures       the service, from `createProfilePictures`
 * @property {(req: import('node:http').IncomingMessage) => { id: string }} getUser
 * @property {string | null} staticRoot  the disk storage root, or null when storage is not on disk
 */

/** @type {Record<string, (options: MountOptions) => Promise<import('node:http').RequestListener>>} */
export const FRAMEWORKS = {
  async express({ dist, pictures, getUser, staticRoot }) {
    const { default: express } = await import('express');
    const { profilePictureRouter } = await import(pathToFileURL(path.join(dist, 'express.js')).href);
    const app = express();
    if (staticRoot) app.use('/static', express.static(staticRoot, { maxAge: '1y', immutable: true }));
    app.use(profilePictureRouter(pictures, { getUser }));
    return app;
  },

  async fastify({ dist, pictures, getUser }) {
    const { default: Fastify } = await import('fastify');
    const { profilePicturePlugin } = await import(pathToFileURL(path.join(dist, 'fastify.js')).href);
    // Fastify's own request listener, as `serverFactory` hands it over; the factory's server is never listened on.
    let listener;
    const app = Fastify({
      serverFactory(handler) {
        listener = handler;
        return http.createServer(handler);
      },
    });
    await app.register(profilePicturePlugin, { pictures, getUser: (request) => getUser(request.raw) });
    await app.ready();
    return listener;
  },

  async hono({ dist, pictures, getUser }) {
    const { getRequestListener } = await import('@hono/node-server');
    const { Hono } = await import('hono');
    const { createRequestHandler } = await import(pathToFileURL(path.join(dist, 'web.js')).href);
    // The handler sees only the `Request`; the connection's user comes from the Node request under it.
    const incomingOf = new WeakMap();
    const handle = createRequestHandler(pictures, { getUser: (request) => getUser(incomingOf.get(request)) });
    const app = new Hono();
    app.use(async (c, next) => {
      incomingOf.set(c.req.raw, c.env.incoming);
      return (await handle(c.req.raw, { incoming: c.env.incoming })) ?? next();
    });
    // What `serve()` / `createAdaptorServer()` of @hono/node-server put in the server, with their defaults.
    return getRequestListener(app.fetch);
  },
};
