/**
 * The adapter conformance suite against Express 5 (`express`) and Express 4 (`express4` alias), plus what only
 * Express has: express-session, mounting under a path, and the Express 4 build really using Express 4's Router.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import express from 'express';
import session from 'express-session';
import { describe, expect, it, vi } from 'vitest';
import { profilePictureRouter } from '../../adapters/express/index.js';
import { createProfilePictures, memoryStorage, memoryUserRepository, type ProfilePictures } from '../../src/index.js';
import {
  describeAdapters,
  listen,
  multipart,
  parseTestUser,
  request,
  type AdapterHarness,
  type SuiteRouterOptions,
} from './adapter-suite.js';
import { serviceWithFailingReads } from './server-fault.js';

type Express = typeof express;
type RouterFactory = typeof profilePictureRouter;

const express4 = createRequire(import.meta.url)('express4') as Express;

// The adapter imports `Router` from 'express'. An app on Express 4 resolves that to Express 4, so load a second
// copy of the adapter with 'express' resolving to the `express4` alias.
vi.resetModules();
vi.doMock('express', () => ({ ...express4, default: express4, Router: express4.Router }));
const { profilePictureRouter: profilePictureRouter4 } = (await import('../../adapters/express/index.js')) as {
  profilePictureRouter: RouterFactory;
};
vi.doUnmock('express');

const majors = [
  { name: 'express 5', express, router: profilePictureRouter },
  { name: 'express 4', express: express4, router: profilePictureRouter4 },
];

function expressHarness(name: string, createApp: Express, router: RouterFactory): AdapterHarness {
  return {
    name,
    create: (pictures, options) => router(pictures, options as never),
    userOf: (req) => (req as { user?: { id: string; username?: string } }).user ?? null,
    async start(pictures, options, mount = '/') {
      const errors: unknown[] = [];
      const app = createApp();
      // Passport-style: an auth middleware puts the user on `req.user`.
      app.use((req, _res, next) => {
        const user = parseTestUser(req.headers['x-test-user']);
        if (user) (req as { user?: unknown }).user = user;
        next();
      });
      app.use(mount, router(pictures, { getUser: (req: express.Request) => (req as { user?: { id: string } }).user ?? null, ...options } as never));
      app.use((_req, res) => void res.status(404).type('text/plain').send('app-fallthrough'));
      app.use((err: unknown, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
        errors.push(err);
        next(err); // Express's final handler answers 500
      });
      return listen(http.createServer(app), errors);
    },
  };
}

describeAdapters(majors.map((major) => expressHarness(major.name, major.express, major.router)));

for (const major of majors) {
  describe(`${major.name}: Express specifics`, () => {
    const jpegOf = () =>
      import('sharp').then(({ default: sharp }) =>
        sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer(),
      );

    async function serve(pictures: ProfilePictures, build: (app: express.Express) => void) {
      const app = major.express();
      build(app);
      return listen(http.createServer(app), []);
    }

    it('works with express-session (req.session.user)', async () => {
      const users = memoryUserRepository();
      const pictures = createProfilePictures({ storage: memoryStorage(), users });
      const app = await serve(pictures, (app) => {
        app.use(session({ secret: 'test-secret', resave: false, saveUninitialized: false }));
        app.post('/login', (req, res) => {
          (req.session as unknown as { user: unknown }).user = { id: 'u-5', username: 'eve' };
          res.end('ok');
        });
        app.use(
          major.router(pictures, {
            getUser: (req) => (req.session as unknown as { user?: { id: string } }).user ?? null,
            getUsername: (id) => (id === 'u-5' ? 'eve' : null),
          }),
        );
      });
      try {
        const anonymous = await request(app.port, '/remove-profile-picture/', { method: 'POST', headers: { accept: 'application/json' } });
        expect(anonymous.status).toBe(401);
        const login = await request(app.port, '/login', { method: 'POST' });
        const cookie = String(login.headers['set-cookie']![0]).split(';')[0]!;
        expect((await request(app.port, '/avatar/u-5')).text).toContain('>E</text>');
        const form = multipart([{ name: 'profile_picture', filename: 'me.jpg', data: await jpegOf() }]);
        const res = await request(app.port, '/upload-profile-picture/', {
          method: 'POST',
          headers: { cookie, accept: 'application/json', 'content-type': form.contentType },
          body: form.body,
        });
        expect(res.status).toBe(200);
        expect(await users.getPicture('u-5')).not.toBeNull();
        const avatar = await request(app.port, '/avatar/u-5?variant=sm');
        expect([avatar.status, avatar.headers.location]).toEqual([302, res.json.picture.urls.sm]);
      } finally {
        await app.close();
      }
    });

    it('survives a response already sent by another middleware (no crash, the server keeps answering)', async () => {
      const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const app = await serve(pictures, (app) => {
        // A timeout-style middleware that answers first, then lets the request continue down the stack.
        app.use((req, res, next) => {
          if (req.path === '/avatar/1') res.status(503).end('answered elsewhere');
          next();
        });
        app.use(major.router(pictures, { getUser: () => ({ id: 1 }) }));
      });
      try {
        const first = await request(app.port, '/avatar/1');
        expect([first.status, first.text]).toEqual([503, 'answered elsewhere']);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(unhandled).toEqual([]);
        expect((await request(app.port, '/avatar/2')).status).toBe(200);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        await app.close();
      }
    });

    it('routes relative to a mount path', async () => {
      const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
      const app = await serve(pictures, (app) => {
        app.use('/account', major.router(pictures, { getUser: () => ({ id: 1 }), redirectTo: '/account/' }));
        app.use((_req, res) => void res.status(404).send('app-fallthrough'));
      });
      try {
        const mounted = await request(app.port, '/account/remove-profile-picture/', { method: 'POST', headers: { accept: 'application/json' } });
        expect([mounted.status, mounted.json]).toEqual([200, { removed: false }]);
        expect((await request(app.port, '/account/avatar/1')).status).toBe(200);
        expect((await request(app.port, '/remove-profile-picture/', { method: 'POST' })).text).toBe('app-fallthrough');
      } finally {
        await app.close();
      }
    });

    it('prints a 5xx it answered itself with console.error by default (as the final handler does), never a 4xx', async () => {
      const { pictures, fault, mediaPath } = await serviceWithFailingReads();
      const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
      const app = await serve(pictures, (app) => app.use(major.router(pictures, { getUser: () => null })));
      try {
        expect((await request(app.port, mediaPath)).status).toBe(502);
        const anonymous = await request(app.port, '/upload-profile-picture/', { method: 'POST', headers: { accept: 'application/json' } });
        expect(anonymous.status).toBe(401);
        expect(printed.mock.calls.map(([err]) => [(err as { code: string }).code, (err as Error).cause])).toEqual([['STORAGE_FAILED', fault]]);
      } finally {
        printed.mockRestore();
        await app.close();
      }
    });

    it("returns that major's own Router", () => {
      const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
      const router = major.router(pictures, { getUser: () => null } as SuiteRouterOptions as never);
      const other = majors.find((m) => m !== major)!;
      expect(sharedPrototypes(router, major.express.Router()).length).toBeGreaterThan(0);
      expect(sharedPrototypes(router, other.express.Router())).toEqual([]);
    });
  });
}

/** Library prototypes (not Function/Object.prototype) on both objects' prototype chains. */
function sharedPrototypes(a: object, b: object): object[] {
  const chain = (value: object) => {
    const found: object[] = [];
    for (let p = Object.getPrototypeOf(value); p && p !== Function.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      found.push(p);
    }
    return found;
  };
  const other = chain(b);
  return chain(a).filter((p) => other.includes(p));
}
