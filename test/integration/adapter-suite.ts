/**
 * The HTTP conformance suite of `profilePictureRouter()`: the same assertions, over real sockets on 127.0.0.1,
 * against every framework harness (Express 4 and 5, Koa 2 and 3, Fastify 4 and 5, the web handler in Hono). Not
 * collected directly (no `.test` suffix); `express.test.ts`, `koa.test.ts`, `fastify.test.ts` and `hono.test.ts` call
 * {@link describeAdapters} with their harnesses.
 *
 * Each test gets a fresh disk storage in a temp dir, a fresh memory user repository and a fresh server. The
 * outcome checks look past the HTTP response: files on disk, the user's record, bytes served.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  diskStorage,
  DRAIN_GRACE_MS,
  ENVELOPE_ALLOWANCE,
  memoryUserRepository,
  type PictureRecord,
  type ProfilePictures,
  type OrphanEvent,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { hasChromium, launchChromium } from '../e2e/browser.js';
import { openRequest, writePaced } from './intake-helpers.js';
import { curlUpload, fetchUploads, hasCurl } from './upload-clients.js';

/** A server started by a harness. */
export interface StartedApp {
  /** `http://127.0.0.1:<port>` */
  base: string;
  port: number;
  /** Errors that reached the framework's error handling (Express error middleware, Koa `'error'` event). */
  errors: unknown[];
  close(): Promise<void>;
}

/** Router options as the suite passes them; `getUser` defaults to the harness's user slot. */
export type SuiteRouterOptions = Record<string, unknown>;

/** One framework (and major version) under test. */
export interface AdapterHarness {
  /** e.g. `'express 5'`. */
  name: string;
  /** Builds the router or middleware without starting a server (for construction-time validation). */
  create(pictures: ProfilePictures, options: SuiteRouterOptions): unknown;
  /**
   * Starts an app on 127.0.0.1:0 with, in order: a middleware that reads the `x-test-user` header (`id` or
   * `id:username`) into the framework's usual user slot (passport's `req.user`, Koa's `ctx.state.user`); the
   * router, with `getUser` reading that slot unless `options` overrides it, mounted under `mount` when given
   * (Express `app.use(mount, router)`, Koa `koa-mount`); a fall-through handler answering 404 `app-fallthrough`;
   * and error recording that then leaves the response to the framework's default handler.
   */
  start(pictures: ProfilePictures, options: SuiteRouterOptions, mount?: string): Promise<StartedApp>;
  /** Reads the user slot from the native request object (`req` / `ctx`). */
  userOf(native: unknown): { id: string; username?: string } | null;
  /**
   * The socket a native request arrived on, for a harness whose native object does not carry it (the web handler's
   * `Request`). Default: `native.req.socket` (Koa `ctx`) or `native.socket` (Express `req`).
   */
  socketOf?(native: unknown): net.Socket;
  /**
   * True when the server parses the request target as a WHATWG URL before the router sees it (a web `Request`):
   * dot segments are resolved, so `/media/a/../a/x` names `/media/a/x`, a file inside the media root, rather than
   * a path the router refuses; and a target the server cannot parse is refused by the server itself (400).
   */
  normalizesRequestTarget?: boolean;
  /**
   * The status the framework's router answers itself, before any route or plugin runs, to a path whose
   * percent-escapes do not decode (Fastify: 400 `FST_ERR_BAD_URL`, app-wide). Unset: the routes see those paths
   * and answer 404.
   */
  undecodablePathStatus?: number;
}

/** A buffered HTTP response. */
export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: any;
}

const JSON_CLIENT = { accept: 'application/json' };
/** The headers that make a picture inert (SECURITY.md rule 9), exactly, on media and the placeholder SVG alike. */
const INERT_PICTURE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'same-site',
};
const safetyHeadersOf = (res: TestResponse) =>
  Object.fromEntries(Object.keys(INERT_PICTURE_HEADERS).map((name) => [name, res.headers[name]]));
/** What a browser sends for a same-origin `<form method=post>` submission. */
const formPost = (base: string) => ({
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'same-origin',
  origin: base,
});

/**
 * Runs the conformance suite once per harness, each in its own `describe` block.
 */
export function describeAdapters(harnesses: AdapterHarness[]): void {
  for (const harness of harnesses) describe(harness.name, () => adapterTests(harness));
}

function adapterTests(harness: AdapterHarness): void {
  let jpeg: Buffer;
  let jpeg2: Buffer;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    jpeg = await sharp({ create: { width: 96, height: 72, channels: 3, background: '#3366cc' } }).jpeg().toBuffer();
    jpeg2 = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#cc3300' } }).jpeg().toBuffer();
  });

  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  /** 404, or the harness's own router status for a path that does not percent-decode. */
  const notFoundStatus = (target: string) => {
    if (harness.undecodablePathStatus === undefined) return 404;
    try {
      decodeURI(target);
      return 404;
    } catch {
      return harness.undecodablePathStatus;
    }
  };

  /**
   * True for a target a server that parses it as a WHATWG URL refuses itself (400) before the router sees it: a
   * backslash in the path (`@hono/node-server`: "Backslash in request path").
   */
  const unparsableByServer = (target: string) => harness.normalizesRequestTarget === true && target.includes('\\');

  /**
   * A fresh app; `mount` mounts the router under a path, `wrapStorage` may wrap its disk storage (fault injection)
   * while files stay under `mediaRoot`.
   */
  async function setup(
    options: SuiteRouterOptions = {},
    service: Partial<ProfilePicturesOptions> = {},
    { mount = '', wrapStorage = (disk: StorageAdapter) => disk }: { mount?: string; wrapStorage?: (disk: StorageAdapter) => StorageAdapter } = {},
  ) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-adapter-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const mediaRoot = path.join(dir, 'media');
    const users = service.users ?? memoryUserRepository();
    const storage = wrapStorage(diskStorage({ root: mediaRoot }));
    const pictures = createProfilePictures({ storage, users, ...service });
    const app = await harness.start(pictures, options, mount || undefined);
    cleanups.push(() => app.close());
    const send = (target: string, init: RequestInit = {}) => request(app.port, target, init);
    return {
      ...app,
      dir,
      mediaRoot,
      users,
      pictures,
      send,
      /** Every file under the media root (temp files included), relative, sorted. */
      files: () => listFiles(mediaRoot),
      upload: (user: string, file: Buffer, headers: Record<string, string> = JSON_CLIENT, filename = 'me.jpg') => {
        const form = multipart([{ name: 'profile_picture', filename, type: 'image/jpeg', data: file }]);
        return send(`${mount}/upload-profile-picture/`, {
          method: 'POST',
          headers: { ...headers, 'x-test-user': user, 'content-type': form.contentType },
          body: form.body,
        });
      },
    };
  }

  describe('construction', () => {
    it('throws a TypeError naming `getUser` when it is missing', async () => {
      const { pictures } = await setup();
      expect(() => harness.create(pictures, { getUser: undefined })).toThrow(
        new TypeError('[profile-picture] Expected a function for `getUser` but received undefined'),
      );
    });

    it('rejects a non-service, bad paths and bad allowed origins with messages naming the option', async () => {
      const { pictures } = await setup();
      const getUser = () => null;
      expect(() => harness.create({} as ProfilePictures, { getUser })).toThrow(/`pictures`/);
      expect(() => harness.create(pictures, { getUser, paths: { upload: 'upload' } })).toThrow(
        new TypeError(
          '[profile-picture] Expected a path starting with "/" (no query or fragment) or false for `paths.upload` but received "upload" (string)',
        ),
      );
      expect(() => harness.create(pictures, { getUser, csrf: { allowedOrigins: ['not a url'] } })).toThrow(
        /`csrf\.allowedOrigins\[0\]`/,
      );
      expect(() => harness.create(pictures, { getUser, csrf: true })).toThrow(/`csrf`/);
      expect(() => harness.create(pictures, { getUser, redirectTo: '' })).toThrow(/`redirectTo`/);
      expect(() => harness.create(pictures, { getUser, onResult: 'flash' })).toThrow(/`onResult`/);
    });

    it('refuses misspelled or misplaced options, naming the option probably meant', async () => {
      const { pictures } = await setup();
      const getUser = () => null;
      const refusal = (options: SuiteRouterOptions) => {
        try {
          harness.create(pictures, { getUser, ...options });
        } catch (err) {
          return [(err as Error).constructor.name, (err as Error).message];
        }
        return null;
      };
      const P = '[profile-picture] Unknown option';
      expect(refusal({ redirect: '/me/' })).toEqual(['TypeError', `${P} \`redirect\`; did you mean \`redirectTo\`?`]);
      expect(refusal({ getuser: getUser })).toEqual(['TypeError', `${P} \`getuser\`; did you mean \`getUser\`?`]);
      expect(refusal({ paths: { uplaod: '/u/' } })).toEqual(['TypeError', `${P} \`paths.uplaod\`; did you mean \`paths.upload\`?`]);
      expect(refusal({ media: '/m/' })).toEqual(['TypeError', `${P} \`media\`; did you mean \`paths.media\`?`]);
      expect(refusal({ csrf: { origins: [] } })).toEqual(['TypeError', `${P} \`csrf.origins\`; did you mean \`csrf.allowedOrigins\`?`]);
      // A service option (set beside the mount's prefix, as "Mounting under a path" pairs them) is pointed at the service.
      expect(refusal({ publicPath: '/account/media/' } as SuiteRouterOptions)).toEqual(['TypeError', `${P} \`publicPath\`: it is an option of createProfilePictures(), which the routes take from the service; set it there`]);
    });
  });

  describe('routing', () => {
    it('lets requests it does not handle fall through to the app', async () => {
      const app = await setup();
      for (const [method, target] of [
        ['GET', '/upload-profile-picture/'],
        ['PUT', '/remove-profile-picture/'],
        ['POST', '/media/x.webp'],
        ['GET', '/media'],
        ['GET', '/elsewhere/'],
      ] as const) {
        const res = await app.send(target, { method, headers: { 'x-test-user': '1' } });
        expect([method, target, res.status, res.text]).toEqual([method, target, 404, 'app-fallthrough']);
      }
    });

    it('serves custom paths and turns routes off with `false`', async () => {
      const app = await setup({
        paths: { upload: '/me/picture', remove: '/me/picture/delete/', media: false, avatar: '/u/' },
      });
      const form = multipart([{ name: 'note', data: 'x' }]);
      const upload = await app.send('/me/picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'x-test-user': '1', 'content-type': form.contentType },
        body: form.body,
      });
      expect(upload.status).toBe(400);
      const removed = await app.send('/me/picture/delete', { method: 'POST', headers: { ...JSON_CLIENT, 'x-test-user': '1' } });
      expect([removed.status, removed.json]).toEqual([200, { removed: false }]);
      expect((await app.send('/u/1')).headers['content-type']).toBe('image/svg+xml; charset=utf-8');
      expect((await app.send('/upload-profile-picture/', { method: 'POST' })).text).toBe('app-fallthrough');
      expect((await app.send('/media/profile_pictures/1/x-md.webp')).text).toBe('app-fallthrough');
    });

    it("mounts the media route at the service's publicPath by default", async () => {
      const app = await setup({}, { publicPath: '/files/' });
      const up = await app.upload('7', jpeg);
      expect(up.status).toBe(200);
      const url: string = up.json.picture.urls.md;
      expect(url.startsWith('/files/profile_pictures/7/')).toBe(true);
      expect((await app.send(url)).status).toBe(200);
    });
  });

  describe('mounted under a path', () => {
    it('serves the URLs the records produce, and redirects the avatar to them, with publicPath set to the mount', async () => {
      const app = await setup({}, { publicPath: '/account/media/' }, { mount: '/account' });
      const up = await app.upload('7', jpeg);
      expect(up.status, up.text).toBe(200);
      const urls: Record<string, string> = up.json.picture.urls;
      for (const [name, url] of Object.entries(urls)) {
        expect(url.startsWith('/account/media/profile_pictures/7/'), url).toBe(true);
        const served = await app.send(url);
        expect([served.status, served.headers['content-type']], name).toEqual([200, 'image/webp']);
        const key = url.slice('/account/media/'.length);
        expect(served.body.equals(await readFile(path.join(app.mediaRoot, ...key.split('/'))))).toBe(true);
      }
      const avatar = await app.send('/account/avatar/7?variant=sm');
      expect([avatar.status, avatar.headers.location]).toEqual([302, urls.sm]);
      expect((await app.send(avatar.headers.location!)).status).toBe(200);
      // Nothing answers at the doubled path, and the routes are not reachable outside the mount.
      expect((await app.send(`/account${urls.md}`)).text).toBe('app-fallthrough');
      expect((await app.send('/upload-profile-picture/', { method: 'POST' })).text).toBe('app-fallthrough');
    });
  });

  describe('authentication', () => {
    it('answers 401 UNAUTHENTICATED for upload and remove without a user', async () => {
      const app = await setup();
      const form = multipart([{ name: 'profile_picture', filename: 'a.jpg', type: 'image/jpeg', data: jpeg }]);
      const upload = await app.send('/upload-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'content-type': form.contentType },
        body: form.body,
      });
      expect(upload.status).toBe(401);
      expect(upload.json.error.code).toBe('UNAUTHENTICATED');
      const remove = await app.send('/remove-profile-picture/', { method: 'POST', headers: JSON_CLIENT });
      expect([remove.status, remove.json.error.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(await app.files()).toEqual([]);
    });

    it('refuses an anonymous upload before reading its body, and closes the connection', async () => {
      const app = await setup();
      // Declares 1 MB but sends a few bytes: if the route waited for the body, no answer would ever come.
      const res = await rawExchange(
        app.port,
        'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n' +
          'Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 1000000\r\n\r\n--xyz\r\n',
      );
      expect(res.status).toBe(401);
      expect(res.headers.connection).toBe('close');
      expect(JSON.parse(res.body).error.code).toBe('UNAUTHENTICATED');
      expect(await app.files()).toEqual([]);
    });

    it('accepts an async getUser and numeric ids', async () => {
      const app = await setup({
        getUser: async (native: unknown) => {
          await new Promise((resolve) => setImmediate(resolve));
          const user = harness.userOf(native);
          return user ? { id: Number(user.id) } : null;
        },
      });
      const res = await app.upload('42', jpeg);
      expect(res.status).toBe(200);
      expect(await app.users.getPicture('42')).toEqual(withoutUrls(res.json.picture));
    });

    it('hands an error thrown by getUser to the framework error handler', async () => {
      const boom = new Error('session store down');
      const app = await setup({
        getUser: () => {
          throw boom;
        },
      });
      const res = await app.send('/remove-profile-picture/', { method: 'POST', headers: JSON_CLIENT });
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('"error"');
      expect(app.errors).toEqual([boom]);
    });

    it('treats a getUser result without an id as a programming error (500 via the framework)', async () => {
      const app = await setup({ getUser: () => ({ name: 'ada' }) });
      const res = await app.send('/remove-profile-picture/', { method: 'POST', headers: JSON_CLIENT });
      expect(res.status).toBe(500);
      expect(app.errors).toHaveLength(1);
      expect(String(app.errors[0])).toContain('Expected `getUser()` to return null or { id: string | number }');
    });
  });

  describe('cross-site request forgery', () => {
    async function removeWith(options: SuiteRouterOptions, headers: Record<string, string>) {
      const app = await setup(options);
      expect((await app.upload('1', jpeg)).status).toBe(200);
      const before = await app.users.getPicture('1');
      const res = await app.send('/remove-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'x-test-user': '1', ...headers },
      });
      return { app, res, before, after: await app.users.getPicture('1') };
    }

    it('refuses Sec-Fetch-Site: cross-site with 403 CROSS_ORIGIN and changes nothing', async () => {
      const { res, before, after } = await removeWith({}, { 'sec-fetch-site': 'cross-site' });
      expect([res.status, res.json.error.code]).toEqual([403, 'CROSS_ORIGIN']);
      expect(after).toEqual(before);
    });

    it('refuses a foreign or opaque Origin, also on uploads and also for form posts (no redirect)', async () => {
      const foreign = await removeWith({}, { origin: 'https://evil.example' });
      expect([foreign.res.status, foreign.res.json.error.code]).toEqual([403, 'CROSS_ORIGIN']);
      expect(foreign.after).toEqual(foreign.before);
      const opaque = await removeWith({}, { origin: 'null' });
      expect(opaque.res.status).toBe(403);
      const app = await setup({ onResult: () => app.errors.push('onResult called') });
      const sameHostOtherPort = `http://127.0.0.1:${app.port + 1}`;
      const upload = await app.upload('2', jpeg, { ...formPost(app.base), origin: sameHostOtherPort, 'sec-fetch-site': 'same-site' });
      expect(upload.status).toBe(403);
      expect(upload.headers.location).toBeUndefined();
      expect(app.errors).toEqual([]);
      expect(await app.users.getPicture('2')).toBeNull();
    });

    it('allows a same-origin Origin, and requests with neither Origin nor Sec-Fetch-Site', async () => {
      const app = await setup();
      expect((await app.upload('1', jpeg, { ...JSON_CLIENT, origin: app.base, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
      const bare = await app.send('/remove-profile-picture/', { method: 'POST', headers: { 'x-test-user': '1' } });
      expect([bare.status, bare.json]).toEqual([200, { removed: true }]);
    });

    it('allows origins listed in csrf.allowedOrigins, even cross-site', async () => {
      const { res, after } = await removeWith(
        { csrf: { allowedOrigins: ['https://app.example.com/'] } },
        { origin: 'https://app.example.com', 'sec-fetch-site': 'cross-site' },
      );
      expect([res.status, res.json]).toEqual([200, { removed: true }]);
      expect(after).toBeNull();
    });

    it('can be turned off with csrf: false', async () => {
      const { res, after } = await removeWith(
        { csrf: false },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      );
      expect([res.status, res.json]).toEqual([200, { removed: true }]);
      expect(after).toBeNull();
    });
  });

  describe('upload', () => {
    it("answers the new picture without the record's user state (history, lock, change times)", async () => {
      const app = await setup();
      await app.upload('1', jpeg);
      const first = (await app.users.getPicture('1'))!;
      const state = { changes: ['2026-12-02T00:00:00.000Z'], erasure: 'e1' };
      expect(await app.users.setPicture('1', { ...first, ...state, version: 'with-state' }, first.version)).toBe(true);
      const res = await app.upload('1', jpeg2);
      expect(res.status).toBe(200);
      const record = (await app.users.getPicture('1'))!;
      expect(record).toMatchObject(state);
      for (const field of ['changes', 'erasure', 'history', 'lock']) expect(res.json.picture).not.toHaveProperty(field);
      const { changes, erasure, ...picture } = record;
      expect(withoutUrls(res.json.picture)).toEqual(picture);
    });

    it('stores the picture and answers JSON { picture } with URLs for every variant', async () => {
      const app = await setup();
      // A fully read body leaves the connection reusable (the client asks for keep-alive explicitly).
      const res = await app.upload('1', jpeg, { ...JSON_CLIENT, connection: 'keep-alive' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const { picture } = res.json;
      const record = (await app.users.getPicture('1'))!;
      expect(withoutUrls(picture)).toEqual(record);
      expect(Object.keys(picture.urls).sort()).toEqual(['lg', 'md', 'sm']);
      for (const [name, url] of Object.entries(picture.urls)) {
        expect(url).toBe(`/media/${record.variants[name]!.key}`);
      }
      expect(await app.files()).toEqual(keysOf(record).sort());
      expect(res.headers.connection).toBe('keep-alive');
    });

    it('redirects an HTML form post with 303 and reports to onResult', async () => {
      const events: any[] = [];
      const app = await setup({ onResult: (event: any, native: unknown) => void events.push({ event, user: harness.userOf(native) }) });
      const res = await app.upload('1', jpeg, formPost(app.base));
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/profile/?profile_picture=uploaded');
      const record = await app.users.getPicture('1');
      expect(record).not.toBeNull();
      expect(events).toHaveLength(1);
      expect(events[0].event.action).toBe('upload');
      expect(events[0].event.picture).toEqual(record);
      expect(events[0].event.error).toBeUndefined();
      expect((events[0].event.request as IncomingMessage).method).toBe('POST');
      expect(events[0].user).toEqual({ id: '1' });
    });

    it('answers JSON to scripts even when they accept HTML', async () => {
      const app = await setup({ onResult: () => app.errors.push('onResult called') });
      const xhr = await app.upload('1', jpeg, { accept: 'text/html, */*', 'x-requested-with': 'XMLHttpRequest' });
      expect([xhr.status, typeof xhr.json.picture]).toEqual([200, 'object']);
      const fetched = await app.upload('1', jpeg2, { accept: 'text/html, */*', 'sec-fetch-mode': 'cors' });
      expect([fetched.status, typeof fetched.json.picture]).toEqual([200, 'object']);
      const curl = await app.upload('1', jpeg, { accept: '*/*' });
      expect(curl.status).toBe(200);
      expect(curl.json.picture.contentHash).toBe(xhr.json.picture.contentHash);
      expect(app.errors).toEqual([]);
    });

    it('replaces the previous picture and deletes its files', async () => {
      const app = await setup();
      const first = (await app.upload('1', jpeg)).json.picture;
      const second = (await app.upload('1', jpeg2)).json.picture;
      expect(second.contentHash).not.toBe(first.contentHash);
      await app.pictures.flush(); // the old files are deleted after the answer
      expect(await app.files()).toEqual(keysOf(second).sort());
      expect((await app.send(first.urls.md)).status).toBe(404);
    });

    it('answers 415 NOT_MULTIPART for a non-multipart body and stores nothing', async () => {
      const app = await setup();
      const res = await app.send('/upload-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'x-test-user': '1', 'content-type': 'application/json' },
        body: '{"profile_picture":"x"}',
      });
      expect([res.status, res.json.error.code]).toEqual([415, 'NOT_MULTIPART']);
      expect(await app.users.getPicture('1')).toBeNull();
      expect(await app.files()).toEqual([]);
    });

    it('answers 400 NO_FILE when the form has no file', async () => {
      const app = await setup();
      const form = multipart([{ name: 'note', data: 'hello' }]);
      const res = await app.send('/upload-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'x-test-user': '1', 'content-type': form.contentType },
        body: form.body,
      });
      expect([res.status, res.json.error.code]).toEqual([400, 'NO_FILE']);
      expect(await app.files()).toEqual([]);
    });

    it('answers 413 FILE_TOO_LARGE for a declared huge body, closing the connection, and keeps the old picture', async () => {
      const app = await setup();
      const before = (await app.upload('1', jpeg)).json.picture;
      const files = await app.files();
      const boundary = 'b0undary';
      const res = await rawExchange(
        app.port,
        'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Test-User: 1\r\n' +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 52428800\r\n\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="profile_picture"; filename="big.jpg"\r\n` +
          'Content-Type: image/jpeg\r\n\r\n',
        { keepWriting: true },
      );
      expect(res.status).toBe(413);
      expect(res.headers.connection).toBe('close');
      expect(JSON.parse(res.body).error.code).toBe('FILE_TOO_LARGE');
      expect(await app.users.getPicture('1')).toEqual(withoutUrls(before));
      expect(await app.files()).toEqual(files);
    });

    /** Opens one upload per user that sends its head and the first body bytes, then stalls; resolves once each is in. */
    async function stalledUploads(app: Awaited<ReturnType<typeof setup>>, users: string[], arrived: Promise<void>[]) {
      const sockets = users.map((user) => {
        const socket = net.connect(app.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(
          `POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Test-User: ${user}\r\n` +
            'Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 5000\r\n\r\n--zz\r\n',
        );
        return socket;
      });
      await Promise.all(arrived);
      // getUser ran; the route then takes its slot within a few ticks.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return sockets;
    }

    /** A getUser that reports when each user's request reached the route. */
    function watchArrivals(users: string[]) {
      const resolvers = new Map<string, () => void>();
      const arrived = users.map((user) => new Promise<void>((resolve) => resolvers.set(user, resolve)));
      return {
        arrived,
        getUser: (native: unknown) => {
          const user = harness.userOf(native);
          if (user) setImmediate(() => resolvers.get(user.id)?.());
          return user;
        },
      };
    }

    it('answers 503 BUSY with Retry-After when every body slot and the queue are taken (not an onServerError)', async () => {
      const watch = watchArrivals(['slow']);
      const reported: unknown[] = [];
      const onServerError = (error: unknown) => void reported.push(error);
      const app = await setup({ getUser: watch.getUser, onServerError }, { bodyConcurrency: 1, maxQueue: 0 });
      // The slow upload takes the only body slot before its body, then never sends the body.
      const [slow] = await stalledUploads(app, ['slow'], watch.arrived);
      const res = await app.upload('2', jpeg);
      slow!.destroy();
      expect([res.status, res.json.error.code]).toEqual([503, 'BUSY']);
      expect(res.headers['retry-after']).toBe('5');
      expect(await app.users.getPicture('2')).toBeNull();
      expect(await app.files()).toEqual([]);
      // Load shed as designed, which any client can cause: reported, it would flood the app's error log.
      expect(reported).toEqual([]);
    });

    it("does not let slow bodies holding every processing slot delay another user's upload", async () => {
      const watch = watchArrivals(['slow-1', 'slow-2']);
      const app = await setup({ getUser: watch.getUser }, { concurrency: 2, limits: { bodyTimeout: 5_000 } });
      // Two stalled bodies, as many as there are processing slots: they hold body slots, never processing slots.
      const slow = await stalledUploads(app, ['slow-1', 'slow-2'], watch.arrived);
      const started = performance.now();
      const res = await app.upload('2', jpeg);
      const elapsed = performance.now() - started;
      for (const socket of slow) socket.destroy();
      expect(res.status).toBe(200);
      expect(elapsed).toBeLessThan(2_000); // the slow bodies would free their slots only after 5 s
      const record = (await app.users.getPicture('2'))!;
      expect(withoutUrls(res.json.picture)).toEqual(record);
      expect(await app.files()).toEqual(keysOf(record).sort());
    });

    it('cuts off an undeclared (chunked) oversized body with 413 and Connection: close', async () => {
      const app = await setup({}, { limits: { fileSize: 64 * 1024 } });
      const before = (await app.upload('1', jpeg)).json.picture;
      const files = await app.files();
      const part =
        '--cc\r\nContent-Disposition: form-data; name="profile_picture"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n';
      const res = await rawExchange(
        app.port,
        'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Test-User: 1\r\n' +
          'Content-Type: multipart/form-data; boundary=cc\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`,
        { keepWriting: true, chunked: true },
      );
      expect([res.status, JSON.parse(res.body).error.code, res.headers.connection]).toEqual([413, 'FILE_TOO_LARGE', 'close']);
      expect(await app.users.getPicture('1')).toEqual(withoutUrls(before));
      expect(await app.files()).toEqual(files);
    });

    it('answers 408 TIMEOUT to a body that stalls, and stores nothing', async () => {
      const app = await setup({}, { limits: { bodyTimeout: 300 } });
      const res = await rawExchange(
        app.port,
        'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Test-User: 1\r\n' +
          'Content-Type: multipart/form-data; boundary=tt\r\nContent-Length: 100000\r\n\r\n' +
          '--tt\r\nContent-Disposition: form-data; name="profile_picture"; filename="a.jpg"\r\n\r\n\xff\xd8\xff',
      );
      expect([res.status, JSON.parse(res.body).error.code, res.headers.connection]).toEqual([408, 'TIMEOUT', 'close']);
      expect(await app.users.getPicture('1')).toBeNull();
      expect(await app.files()).toEqual([]);
    });

    it('answers 400 BAD_REQUEST to malformed multipart (boundary never found, truncated body)', async () => {
      const app = await setup();
      const unrelated = await app.send('/upload-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'x-test-user': '1', 'content-type': 'multipart/form-data; boundary=expected' },
        body: '--other\r\nContent-Disposition: form-data; name="profile_picture"; filename="a.jpg"\r\n\r\nxx\r\n--other--\r\n',
      });
      expect([unrelated.status, unrelated.json.error.code]).toEqual([400, 'BAD_REQUEST']);
      const form = multipart([{ name: 'profile_picture', filename: 'a.jpg', type: 'image/jpeg', data: jpeg }]);
      const truncated = await app.send('/upload-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'x-test-user': '1', 'content-type': form.contentType },
        body: form.body.subarray(0, form.body.length - 20),
      });
      expect([truncated.status, truncated.json.error.code]).toEqual([400, 'BAD_REQUEST']);
      expect(await app.users.getPicture('1')).toBeNull();
      expect(await app.files()).toEqual([]);
      expect(app.errors).toEqual([]);
    });

    it('survives a client aborting mid-body: nothing stored, old picture kept, nothing sent to the error handler', async () => {
      const app = await setup();
      const before = (await app.upload('1', jpeg)).json.picture;
      const files = await app.files();
      const form = multipart([{ name: 'profile_picture', filename: 'b.jpg', type: 'image/jpeg', data: jpeg2 }]);
      const socket = net.connect(app.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Test-User: 1\r\n' +
          `Content-Type: ${form.contentType}\r\nContent-Length: ${form.body.length}\r\n\r\n`,
      );
      socket.write(form.body.subarray(0, form.body.length - 30));
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      // The server answers nobody; give it time to notice and clean up, then check that nothing changed.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await app.users.getPicture('1')).toEqual(withoutUrls(before));
      expect(await app.files()).toEqual(files);
      // The client broke its own connection: nothing reaches the app's error log (Koa used to report it).
      expect(app.errors).toEqual([]);
      expect((await app.upload('1', jpeg2)).status).toBe(200);
    });

    it('keeps a lying Content-Length out of the error log: the client gets its 400, the app hears nothing', async () => {
      const app = await setup();
      const form = multipart([{ name: 'profile_picture', filename: 'b.jpg', type: 'image/jpeg', data: jpeg2 }]);
      const declared = 200; // far less than is sent: the rest arrives as a garbage "next request"
      const head =
        'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Test-User: 1\r\n' +
        `Content-Type: ${form.contentType}\r\nContent-Length: ${declared}\r\n\r\n`;
      const answer = await rawExchange(app.port, head + form.body.toString('latin1'));
      expect(answer.status).toBe(400);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(app.errors).toEqual([]);
      expect(await app.files()).toEqual([]);
    });

    it('answers 422 for a text file renamed .jpg and keeps the old picture', async () => {
      const app = await setup();
      const before = (await app.upload('1', jpeg)).json.picture;
      const files = await app.files();
      const res = await app.upload('1', Buffer.from('just some text, not a picture\n'.repeat(20)), JSON_CLIENT, 'photo.jpg');
      expect(res.status).toBe(422);
      expect(res.json.error.code).toBe('NOT_AN_IMAGE');
      expect(await app.users.getPicture('1')).toEqual(withoutUrls(before));
      expect(await app.files()).toEqual(files);
      expect((await app.send(before.urls.md)).status).toBe(200);
    });

    it('redirects a failed form post with the error code and reports it to onResult', async () => {
      const events: any[] = [];
      const app = await setup({ redirectTo: '/account/?tab=picture#avatar', onResult: (event: any) => void events.push(event) });
      const res = await app.upload('1', Buffer.from('not an image at all'), formPost(app.base));
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/account/?tab=picture&profile_picture_error=NOT_AN_IMAGE#avatar');
      expect(events.map((e) => [e.action, e.error?.code, e.picture])).toEqual([['upload', 'NOT_AN_IMAGE', undefined]]);
      const anonymous = await app.send('/remove-profile-picture/', { method: 'POST', headers: formPost(app.base) });
      expect(anonymous.headers.location).toBe('/account/?tab=picture&profile_picture_error=UNAUTHENTICATED#avatar');
      expect(events[1].error.code).toBe('UNAUTHENTICATED');
    });

    it('does not call onResult for JSON requests', async () => {
      const events: unknown[] = [];
      const app = await setup({ onResult: (event: unknown) => void events.push(event) });
      expect((await app.upload('1', jpeg)).status).toBe(200);
      expect((await app.upload('1', Buffer.from('nope'))).status).toBe(422);
      expect(events).toEqual([]);
    });

    describe('early refusals of a normal-size upload (a 2.7 MB photo)', () => {
      const PHOTO = 2_700_000;
      /** Each way an upload is refused before its body is read, with what the client must see. */
      const REFUSALS: Array<{ outcome: string; headers: Record<string, string> }> = [
        { outcome: '401 UNAUTHENTICATED', headers: {} },
        { outcome: '403 CROSS_ORIGIN', headers: { 'x-test-user': '1', origin: 'http://evil.example' } },
        { outcome: '429 TOO_MANY_UPLOADS', headers: { 'x-test-user': 'hog' } },
        { outcome: '503 BUSY', headers: { 'x-test-user': '2' } },
      ];
      /** The refusals, each `times` in a row: a client that loses an answer to a reset does not always lose it. */
      const repeated = (times: number) => REFUSALS.flatMap((refusal) => Array<typeof refusal>(times).fill(refusal));

      /** An app whose only body slot is held by a stalled upload of `hog`: `hog` then gets 429, any other user 503. */
      async function refusingApp() {
        const watch = watchArrivals(['hog']);
        const app = await setup({ getUser: watch.getUser }, { bodyConcurrency: 1, maxQueue: 0, limits: { uploadsPerUser: 1 } });
        const [hog] = await stalledUploads(app, ['hog'], watch.arrived);
        cleanups.push(async () => void hog!.destroy());
        return { ...app, url: `${app.base}/upload-profile-picture/` };
      }

      it("reach Node's fetch (undici) in another process as their status and JSON, not EPIPE", async () => {
        const app = await refusingApp();
        const refusals = repeated(4);
        const outcomes = await fetchUploads(app.url, PHOTO, refusals.map(({ headers }) => ({ ...JSON_CLIENT, ...headers })));
        expect(outcomes).toEqual(refusals.map(({ outcome }) => outcome));
      });

      it.skipIf(!hasCurl)('reach curl -F (Expect: 100-continue) as their status and JSON', async () => {
        const app = await refusingApp();
        const file = path.join(app.dir, 'photo.jpg');
        await writeFile(file, Buffer.alloc(PHOTO));
        const refusals = repeated(2);
        const outcomes: string[] = [];
        for (const { headers } of refusals) outcomes.push(await curlUpload(app.url, file, { ...JSON_CLIENT, ...headers }));
        expect(outcomes).toEqual(refusals.map(({ outcome }) => outcome));
      });

      it.skipIf(!hasChromium)('reach Chromium: fetch() reads 401, 429 and 503; a cross-site form post shows the 403', async () => {
        const app = await refusingApp();
        const browser = await launchChromium();
        cleanups.push(() => browser.close());
        const page = await browser.newPage();
        await page.goto(`${app.base}/`); // the app's fall-through page: same origin as the route
        const scripted = REFUSALS.filter(({ headers }) => !headers.origin);
        const outcomes = await page.evaluate(
          async ({ url, size, headerSets }) => {
            const results: string[] = [];
            for (const headers of headerSets) {
              const form = new FormData();
              form.append('profile_picture', new Blob([new Uint8Array(size)], { type: 'image/jpeg' }), 'photo.jpg');
              try {
                const response = await fetch(url, { method: 'POST', body: form, headers });
                results.push(`${response.status} ${(await response.json()).error?.code}`);
              } catch (error) {
                results.push(String(error));
              }
            }
            return results;
          },
          { url: app.url, size: PHOTO, headerSets: scripted.map(({ headers }) => headers) },
        );
        expect(outcomes).toEqual(scripted.map(({ outcome }) => outcome));
        // localhost and 127.0.0.1 are different sites: the browser itself sends Origin and Sec-Fetch-Site: cross-site.
        await page.goto(`http://localhost:${app.port}/`);
        await page.setContent(
          `<form method="post" enctype="multipart/form-data" action="${app.url}"><input type="file" name="profile_picture"></form>`,
        );
        const file = path.join(app.dir, 'photo.jpg');
        await writeFile(file, Buffer.alloc(PHOTO));
        await page.setInputFiles('input', file); // a path: a buffer would cross the DevTools protocol as base64 (~2 s)
        const [navigation] = await Promise.all([page.waitForNavigation(), page.evaluate(() => document.forms[0]!.submit())]);
        expect(`${navigation!.status()} ${(await navigation!.json()).error?.code}`).toBe('403 CROSS_ORIGIN');
      });

      it('reach a client on a slow link that sends its whole body before reading (as urllib, requests): the body is read to its end', async () => {
        const app = await refusingApp();
        const form = multipart([{ name: 'profile_picture', filename: 'photo.jpg', type: 'image/jpeg', data: Buffer.alloc(PHOTO) }]);
        const results = await Promise.all(
          REFUSALS.map(async ({ headers }) => {
            const head = { ...JSON_CLIENT, ...headers, 'content-type': form.contentType, 'content-length': form.body.length };
            const client = openRequest(app.port, '', head, '/upload-profile-picture/');
            // ~16 Mbit/s: 1.4 s for the photo, past the 1 s grace (and the 1 MiB) after which it used to be cut.
            const sentAll = await writePaced(client, form.body, 2_000_000);
            const response = await client.response.catch((error: Error) => ({ status: 0, json: { error: { code: error.message } } }));
            client.socket.destroy();
            return { sentAll, errors: client.errors.map((error) => error.message), outcome: `${response.status} ${response.json.error?.code}` };
          }),
        );
        expect(results).toEqual(REFUSALS.map(({ outcome }) => ({ sentAll: true, errors: [], outcome })));
      });

      it('a body declared over the limit (50 MB) is still refused at once and cut: read no further than the limit plus a chunk', async () => {
        const sockets: net.Socket[] = [];
        const app = await setup({
          getUser: (native: unknown) => {
            sockets.push(harness.socketOf?.(native) ?? ((native as { req?: IncomingMessage }).req ?? (native as IncomingMessage)).socket);
            return null;
          },
        });
        for (const extra of ['', 'X-Test-User: 1\r\nOrigin: http://evil.example\r\n']) {
          const started = performance.now();
          const res = await rawExchange(
            app.port,
            'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n' + extra +
              'Content-Type: multipart/form-data; boundary=bb\r\nContent-Length: 52428800\r\n\r\n--bb\r\n',
            { keepWriting: true },
          );
          expect([res.status, res.headers.connection]).toEqual([extra ? 403 : 401, 'close']);
          expect(performance.now() - started).toBeLessThan(DRAIN_GRACE_MS + 1_500);
        }
        expect(sockets).toHaveLength(1); // the 403 never reached getUser
        expect(sockets[0]!.bytesRead).toBeLessThan(app.pictures.options.limits.fileSize + ENVELOPE_ALLOWANCE + 64 * 1024);
      });
    });
  });

  describe('remove', () => {
    it('removes the record and the files, answering JSON { removed }', async () => {
      const app = await setup();
      const { picture } = (await app.upload('1', jpeg)).json;
      const res = await app.send('/remove-profile-picture/', { method: 'POST', headers: { ...JSON_CLIENT, 'x-test-user': '1' } });
      expect([res.status, res.json]).toEqual([200, { removed: true }]);
      expect(await app.users.getPicture('1')).toBeNull();
      await app.pictures.flush();
      expect(await app.files()).toEqual([]);
      expect((await app.send(picture.urls.md)).status).toBe(404);
      const again = await app.send('/remove-profile-picture/', { method: 'POST', headers: { ...JSON_CLIENT, 'x-test-user': '1' } });
      expect([again.status, again.json]).toEqual([200, { removed: false }]);
    });

    it('redirects a form post with profile_picture=removed and reports to onResult', async () => {
      const events: any[] = [];
      const app = await setup({ onResult: (event: any) => void events.push(event) });
      await app.upload('1', jpeg);
      const res = await app.send('/remove-profile-picture/', {
        method: 'POST',
        headers: { ...formPost(app.base), 'x-test-user': '1', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'confirm=1',
      });
      expect([res.status, res.headers.location]).toEqual([303, '/profile/?profile_picture=removed']);
      expect(events.map((e) => [e.action, e.picture, e.removed, e.error])).toEqual([['remove', null, true, undefined]]);
      await app.pictures.flush();
      expect(await app.files()).toEqual([]);
    });

    it('maps a failing user repository to 502 STORAGE_FAILED without leaking the cause', async () => {
      const inner = memoryUserRepository();
      const users: UserRepository = {
        getPicture: async () => {
          throw new Error('SQLITE_BUSY: /var/secret/path.db');
        },
        setPicture: (...args) => inner.setPicture(...args),
      };
      const reported: unknown[] = [];
      const app = await setup({ onServerError: (error: unknown) => void reported.push(error) }, { users });
      const res = await app.send('/remove-profile-picture/', { method: 'POST', headers: { ...JSON_CLIENT, 'x-test-user': '1' } });
      expect(res.status).toBe(502);
      expect(res.json.error.code).toBe('STORAGE_FAILED');
      expect(res.text).not.toContain('SQLITE');
      // The cause goes to the app's onServerError, never to the client nor to the framework as a 500 of its own.
      expect(reported.map((error) => (error as Error).cause)).toEqual([new Error('SQLITE_BUSY: /var/secret/path.db')]);
      expect(app.errors).toEqual([]);
    });
  });

  describe('media', () => {
    it('serves stored bytes with content, caching and safety headers', async () => {
      const app = await setup();
      const { picture } = (await app.upload('1', jpeg)).json;
      const key: string = picture.variants.md.key;
      const stored = await readFile(path.join(app.mediaRoot, ...key.split('/')));
      const res = await app.send(picture.urls.md);
      expect(res.status).toBe(200);
      expect(res.body.equals(stored)).toBe(true);
      expect(res.headers['content-type']).toBe('image/webp');
      expect(res.headers['content-length']).toBe(String(stored.length));
      expect(res.headers.etag).toMatch(/^(W\/)?"[^"]+"$/);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      // SECURITY.md rule 9, on every framework: inert even when opened as a document, not embeddable cross-site.
      expect(safetyHeadersOf(res)).toEqual(INERT_PICTURE_HEADERS);
      expect((await sharp(res.body).metadata()).width).toBe(256);
    });

    it('cuts the connection when the storage stream fails before its first byte: no cacheable error answer', async () => {
      const reported: Error[] = [];
      const onServerError = (error: Error) => void reported.push(error);
      const app = await setup({ onServerError }, {}, { wrapStorage: (disk) => failingBodyStorage(disk, { beforeFirstByte: true }) });
      const { picture } = (await app.upload('1', jpeg)).json;
      // Either no response at all or 200 headers and a body cut short: never a complete answer (an error page under
      // the object's immutable caching headers would be cached by a CDN for a year).
      const outcome = await app.send(picture.urls.md).then(
        (res) => ({ status: res.status, cacheControl: res.headers['cache-control'], text: res.text.slice(0, 120) }),
        () => 'cut',
      );
      expect(outcome).toBe('cut');
      await expect.poll(() => reported.map((error) => (error as { code?: string }).code)).toEqual(['STORAGE_FAILED']);
    });

    it('cuts the connection when the storage stream closes unfinished without an error: never a response left hanging', async () => {
      const reported: Error[] = [];
      const onServerError = (error: Error) => void reported.push(error);
      const app = await setup({ onServerError }, {}, { wrapStorage: (disk) => failingBodyStorage(disk, { withoutError: true }) });
      const { picture } = (await app.upload('1', jpeg)).json;
      // Express piped the body with pipe(), which passes on neither a close nor a missing end: the client waited
      // for the rest of the picture for as long as it cared to (the server holding the socket all that time).
      const outcome = await Promise.race([
        app.send(picture.urls.md).then((res) => `complete ${res.status}`, () => 'cut'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2_000)),
      ]);
      expect(outcome).toBe('cut');
      await expect.poll(() => reported.map((error) => (error as { code?: string }).code)).toEqual(['STORAGE_FAILED']);
    });

    it('lets a client hang up mid-download: nothing in the error log, the file closed, the next request served', async () => {
      const app = await setup();
      // Larger than the socket buffers, so every download is still streaming when its client goes away.
      const key = 'profile_pictures/u1/aaaaaaaaaaaaaaaa-md.webp';
      await diskStorage({ root: app.mediaRoot }).put(key, Buffer.alloc(8 * 1024 * 1024, 1), { contentType: 'image/webp' });
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(app.port, '127.0.0.1');
        socket.on('error', () => {});
        await once(socket, 'connect');
        socket.write(`GET /media/${key} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        await once(socket, 'data');
        // A reset (unread bytes in its buffer) and a plain close (FIN).
        if (i % 2 === 0) socket.destroy();
        else socket.end();
      }
      const served = await app.send(`/media/${key}`);
      expect([served.status, served.body.length]).toEqual([200, 8 * 1024 * 1024]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Koa 3 pipes the body with stream.pipeline, which reported each hang-up to the app as "Premature close".
      expect(app.errors).toEqual([]);
      expect(await openFilesUnder(app.mediaRoot)).toEqual([]);
    });

    it('answers 304 to a matching If-None-Match and HEAD without a body', async () => {
      const app = await setup();
      const { picture } = (await app.upload('1', jpeg)).json;
      const first = await app.send(picture.urls.sm);
      const etag = first.headers.etag!;
      const cached = await app.send(picture.urls.sm, { headers: { 'if-none-match': etag } });
      expect(cached.status).toBe(304);
      expect(cached.body.length).toBe(0);
      expect(cached.headers.etag).toBe(etag);
      const stale = await app.send(picture.urls.sm, { headers: { 'if-none-match': '"something-else"' } });
      expect(stale.status).toBe(200);
      const head = await app.send(picture.urls.sm, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers['content-length']).toBe(String(first.body.length));
      expect(head.headers['content-type']).toBe('image/webp');
    });

    it('answers 404 for an unknown key', async () => {
      const app = await setup();
      const res = await app.send('/media/profile_pictures/1/0000-md.webp');
      expect(res.status).toBe(404);
      expect(res.text).toBe('Not found');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect((await app.send('/media/profile_pictures/1/0000-md.webp', { method: 'HEAD' })).status).toBe(404);
    });

    it('answers 404 to every traversal attempt and malformed escape, without leaking files outside the root', async () => {
      const app = await setup();
      const { picture } = (await app.upload('1', jpeg)).json;
      const [, user, file] = (picture.variants.md.key as string).split('/');
      await writeFile(path.join(app.dir, 'secret.txt'), 'TOP-SECRET');
      await writeFile(path.join(app.dir, 'secret.webp'), 'TOP-SECRET');
      const attempts = [
        '/media/../secret.txt',
        '/media/profile_pictures/../../secret.txt',
        ...(harness.normalizesRequestTarget ? [] : [`/media/profile_pictures/${user}/../${user}/${file}`]),
        '/media/%2e%2e/secret.txt',
        '/media/%2e%2e%2fsecret.txt',
        '/media/profile_pictures%2f..%2f..%2fsecret.txt',
        '/media/%2E%2E%2F%2E%2E%2Fsecret.webp',
        '/media/..%5csecret.txt',
        '/media/profile_pictures\\..\\..\\secret.txt',
        '/media/..%255csecret.txt',
        '/media/secret.webp%00.webp',
        `/media/profile_pictures/${user}/${file}%00`,
        '/media/%00',
        '/media//etc/passwd',
        '/media/%2Fetc%2Fpasswd',
        '/media/%c0%ae%c0%ae/secret.txt',
        '/media/%E0%A4%A',
        '/media/%',
        '/media/',
      ];
      for (const target of attempts) {
        const res = await app.send(target);
        expect([target, res.status]).toEqual([target, unparsableByServer(target) ? 400 : notFoundStatus(target)]);
        expect(res.text).not.toContain('TOP-SECRET');
      }
      expect(app.errors).toEqual([]);
    });
  });

  describe('hanging backends', () => {
    const STORAGE_MS = 1_500;
    /** An app whose disk storage never answers the methods currently in `hanging`. */
    function setupHanging(hanging: Set<'put' | 'get' | 'delete'>, service: Partial<ProfilePicturesOptions> = {}) {
      const never = () => new Promise<never>(() => {});
      const wrapStorage = (disk: StorageAdapter): StorageAdapter => ({
        ...disk,
        put: (key, body, meta) => (hanging.has('put') ? never() : disk.put(key, body, meta)),
        get: (key) => (hanging.has('get') ? never() : disk.get(key)),
        delete: (key) => (hanging.has('delete') ? never() : disk.delete(key)),
      });
      // The 502s are what these tests wait for: reported by the default hook, they would only print.
      return setup({ onServerError: false }, { timeouts: { storageMs: STORAGE_MS }, onOrphan: () => {}, ...service }, { wrapStorage });
    }
    async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
      const started = performance.now();
      const value = await run();
      return [value, performance.now() - started];
    }

    it('a hanging delete: replaces answer at once and never use up the processing slots', async () => {
      const orphans: OrphanEvent[] = [];
      const onOrphan = (event: OrphanEvent) => void orphans.push(event);
      const app = await setupHanging(new Set(['delete']), { concurrency: 2, maxQueue: 0, onOrphan });
      const expected: string[] = [];
      for (const user of ['a', 'b', 'c']) {
        const first = (await app.upload(user, jpeg)).json.picture;
        const res = await app.upload(user, jpeg2);
        expect(res.status).toBe(200);
        // Answered before any of the old files' deletes could time out: the answer did not wait for them.
        expect(orphans.filter(({ key }) => keysOf(first).includes(key))).toEqual([]);
        expect(await app.users.getPicture(user)).toEqual(withoutUrls(res.json.picture));
        expected.push(...keysOf(first), ...keysOf(res.json.picture)); // the old files stay, for sweep()
      }
      // Three replaces whose deletes never settled, with two slots and no queue: another user is not turned away.
      const other = await app.upload('d', jpeg);
      expect(other.status).toBe(200);
      expect(await app.files()).toEqual([...expected, ...keysOf(other.json.picture)].sort());
    });

    // These two keep the suite's STORAGE_MS: with a shorter timeout, the first, real upload's disk put (an fsync) timed
    // out on a loaded CI machine before anything hung.
    it('a hanging get: the media route answers 502 STORAGE_FAILED after timeouts.storageMs', async () => {
      const hanging = new Set<'get'>();
      const app = await setupHanging(hanging);
      const first = await app.upload('1', jpeg);
      expect(first.status).toBe(200);
      const { picture } = first.json;
      hanging.add('get');
      const [res, ms] = await timed(() => app.send(picture.urls.md));
      expect([res.status, res.json.error.code]).toEqual([502, 'STORAGE_FAILED']);
      expect(ms).toBeGreaterThanOrEqual(STORAGE_MS - 10);
      expect(ms).toBeLessThan(STORAGE_MS + 1_000);
      hanging.delete('get');
      expect((await app.send(picture.urls.md)).status).toBe(200);
    });

    it('a hanging put: the upload answers 502 STORAGE_FAILED, and the same user can upload again', async () => {
      const hanging = new Set<'put'>();
      const app = await setupHanging(hanging);
      const first = await app.upload('1', jpeg);
      expect(first.status).toBe(200);
      const before = first.json.picture;
      hanging.add('put');
      const failed = await app.upload('1', jpeg2);
      expect([failed.status, failed.json.error.code]).toEqual([502, 'STORAGE_FAILED']);
      expect(await app.users.getPicture('1')).toEqual(withoutUrls(before));
      expect(await app.files()).toEqual(keysOf(before).sort());
      hanging.delete('put');
      const next = await app.upload('1', jpeg2);
      expect(next.status).toBe(200);
      expect(await app.users.getPicture('1')).toEqual(withoutUrls(next.json.picture));
    });
  });

  describe('server errors (onServerError)', () => {
    /** An app whose storage `get`/`put` (and repository `getPicture`) throw `fault` while named in `failing`. */
    async function setupFaulty(failing: Set<'get' | 'put' | 'getPicture'>, options: SuiteRouterOptions = {}) {
      const fault = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      const reported: Array<{ error: Error & { code?: string; status?: number }; native: unknown }> = [];
      const fail = (name: 'get' | 'put' | 'getPicture') => failing.has(name) && Promise.reject(fault);
      const inner = memoryUserRepository();
      const users: UserRepository = { ...inner, getPicture: (userId) => fail('getPicture') || inner.getPicture(userId) };
      const wrapStorage = (disk: StorageAdapter): StorageAdapter => ({
        ...disk,
        get: (key) => fail('get') || disk.get(key),
        put: (key, body, meta) => fail('put') || disk.put(key, body, meta),
      });
      const onServerError = (error: Error, native: unknown) => void reported.push({ error, native });
      const app = await setup({ onServerError, ...options }, { users }, { wrapStorage });
      return { ...app, fault, reported };
    }

    it('reports a failing storage read on the media route (GET and HEAD) once each, with its cause and native object', async () => {
      const failing = new Set<'get'>();
      const app = await setupFaulty(failing);
      const { picture } = (await app.upload('1', jpeg)).json;
      failing.add('get');
      const res = await app.send(picture.urls.md, { headers: { 'x-test-user': '7' } });
      expect([res.status, res.json.error.code]).toEqual([502, 'STORAGE_FAILED']);
      expect(app.reported.map(({ error }) => [error.code, error.cause])).toEqual([['STORAGE_FAILED', app.fault]]);
      // The framework's own request object: the harness reads the user slot its middleware filled from it.
      expect(harness.userOf(app.reported[0]!.native)).toEqual({ id: '7' });
      expect((await app.send(picture.urls.md, { method: 'HEAD' })).status).toBe(502);
      expect(app.reported.map(({ error }) => error.cause)).toEqual([app.fault, app.fault]);
      expect(app.errors).toEqual([]);
    });

    it('reports a storage stream failing after the 200 headers went out, once, with its error as cause; the response is cut', async () => {
      const fault = Object.assign(new Error('storage connection reset'), { code: 'ECONNRESET' });
      let clientRead!: () => void;
      const after = new Promise<void>((resolve) => (clientRead = resolve));
      const reported: Array<{ error: Error & { code?: string; status?: number; details?: unknown }; native: unknown }> = [];
      const onServerError = (error: Error, native: unknown) => void reported.push({ error, native });
      const app = await setup({ onServerError }, {}, { wrapStorage: (disk) => failingBodyStorage(disk, { fault, after }) });
      const { picture } = (await app.upload('1', jpeg)).json;
      // The storage fails only once the client has the status line, the headers and the first bytes.
      const received = await new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: app.port, path: picture.urls.md, headers: { 'x-test-user': '7' }, agent: false }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            clientRead();
          });
          res.on('error', () => {});
          res.on('close', () => resolve({ status: res.statusCode, bytes, complete: res.complete, length: res.headers['content-length'] }));
        });
        req.on('error', () => resolve('no response'));
      });
      expect(received).toEqual({ status: 200, bytes: 16, complete: false, length: expect.stringMatching(/^\d{3,}$/) });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(reported.map(({ error }) => [error.code, error.status, error.details, error.cause])).toEqual([
        ['STORAGE_FAILED', 502, { operation: 'get' }, fault],
      ]);
      expect(harness.userOf(reported[0]!.native)).toEqual({ id: '7' });
    });

    it('reports a storage stream that stops short without an error, and one failing before its first byte', async () => {
      for (const shape of [{ withoutError: true }, { beforeFirstByte: true }]) {
        const reported: Error[] = [];
        const app = await setup({ onServerError: (error: Error) => void reported.push(error) }, {}, { wrapStorage: (disk) => failingBodyStorage(disk, shape) });
        const { picture } = (await app.upload('1', jpeg)).json;
        await expect(app.send(picture.urls.md)).rejects.toThrow();
        await new Promise((resolve) => setTimeout(resolve, 50));
        const expected = shape.withoutError ? { code: 'ERR_STREAM_PREMATURE_CLOSE' } : { message: 'storage connection reset' };
        expect([shape, reported.map((error) => [(error as { code?: string }).code, error.cause])]).toEqual([
          shape,
          [['STORAGE_FAILED', expect.objectContaining(expected)]],
        ]);
      }
    });

    it('does not report a client hanging up mid-download, even when its storage stream fails as it is torn down', async () => {
      const reported: Error[] = [];
      const bodies: Readable[] = [];
      // As an S3 object's body (an HTTP response) does when destroyed mid-way: it reports "aborted" of its own.
      const tornDown = (disk: StorageAdapter): StorageAdapter => ({
        ...disk,
        async get(key) {
          const object = await disk.get(key);
          if (!object) return null;
          object.body.destroy();
          const body = new Readable({
            read() {
              this.push(Buffer.alloc(64 * 1024, 1));
            },
            destroy(_err, callback) {
              callback(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
            },
          });
          bodies.push(body);
          return { ...object, size: 64 * 1024 * 1024, body };
        },
      });
      const app = await setup({ onServerError: (error: Error) => void reported.push(error) }, {}, { wrapStorage: tornDown });
      const { picture } = (await app.upload('1', jpeg)).json;
      for (let i = 0; i < 2; i++) {
        const socket = net.connect(app.port, '127.0.0.1');
        socket.on('error', () => {});
        await once(socket, 'connect');
        socket.write(`GET ${picture.urls.md} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        await once(socket, 'data');
        // A reset (unread bytes in its buffer) and a plain close (FIN).
        if (i === 0) socket.destroy();
        else socket.end();
      }
      for (let waited = 0; waited < 2_000 && !bodies.every((body) => body.destroyed); waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(bodies.map((body) => [body.destroyed, body.errored?.message ?? null])).toEqual([
        [true, expect.any(String)],
        [true, expect.any(String)],
      ]);
      expect(reported).toEqual([]);
      expect(app.errors).toEqual([]);
    });

    it('reports a failing storage write on upload, for JSON clients and form posts (303 with the error code)', async () => {
      const app = await setupFaulty(new Set(['put']));
      const res = await app.upload('1', jpeg);
      expect([res.status, res.json.error.code]).toEqual([502, 'STORAGE_FAILED']);
      expect(app.reported.map(({ error }) => [error.code, error.status, error.cause])).toEqual([['STORAGE_FAILED', 502, app.fault]]);
      const form = await app.upload('1', jpeg, formPost(app.base));
      expect([form.status, form.headers.location]).toEqual([303, '/profile/?profile_picture_error=STORAGE_FAILED']);
      expect(app.reported.map(({ error }) => error.cause)).toEqual([app.fault, app.fault]);
      expect(await app.files()).toEqual([]);
    });

    it('reports a failing repository on the avatar route', async () => {
      const app = await setupFaulty(new Set(['getPicture']));
      expect((await app.send('/avatar/1')).status).toBe(502);
      expect(app.reported.map(({ error }) => [error.code, error.cause])).toEqual([['STORAGE_FAILED', app.fault]]);
    });

    it('is not called for 4xx answers', async () => {
      const app = await setupFaulty(new Set());
      expect((await app.send('/upload-profile-picture/', { method: 'POST', headers: JSON_CLIENT })).status).toBe(401);
      const text = { ...JSON_CLIENT, 'x-test-user': '1', 'content-type': 'text/plain' };
      expect((await app.send('/upload-profile-picture/', { method: 'POST', headers: text, body: 'hi' })).status).toBe(415);
      expect((await app.send('/avatar/1?variant=xl')).status).toBe(400);
      expect((await app.send('/media/nope.webp')).status).toBe(404);
      expect(app.reported).toEqual([]);
    });

    it('answers as without it when the hook throws or rejects, with no unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        for (const onServerError of [() => { throw new Error('hook threw'); }, async () => { throw new Error('hook rejected'); }]) {
          const app = await setupFaulty(new Set(['getPicture']), { onServerError });
          const res = await app.send('/avatar/1');
          expect([res.status, res.json.error.code]).toEqual([502, 'STORAGE_FAILED']);
          expect(app.errors).toEqual([]);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('is off with false, and refuses anything but a function or false', async () => {
      const app = await setupFaulty(new Set(['getPicture']), { onServerError: false });
      expect((await app.send('/avatar/1')).status).toBe(502);
      expect(app.errors).toEqual([]);
      expect(() => harness.create(app.pictures, { getUser: () => null, onServerError: true })).toThrow(
        new TypeError('[profile-picture] Expected a function or false for `onServerError` but received true (boolean)'),
      );
      expect(() => harness.create(app.pictures, { getUser: () => null, onServerErorr: () => {} })).toThrow(
        new TypeError('[profile-picture] Unknown option `onServerErorr`; did you mean `onServerError`?'),
      );
    });
  });

  describe('avatar', () => {
    it('redirects to the current picture (302, no-cache), by variant', async () => {
      const app = await setup();
      const { picture } = (await app.upload('1', jpeg)).json;
      const md = await app.send('/avatar/1');
      expect([md.status, md.headers.location, md.headers['cache-control']]).toEqual([302, picture.urls.md, 'no-cache']);
      const sm = await app.send('/avatar/1/?variant=sm');
      expect([sm.status, sm.headers.location]).toEqual([302, picture.urls.sm]);
      const followed = await app.send(sm.headers.location!);
      expect((await sharp(followed.body).metadata()).width).toBe(64);
    });

    it('redirects to the closest larger variant a record written before the variants changed has', async () => {
      const app = await setup({}, { variants: { sm: 64, md: 256, lg: 512, xl: 1024 } });
      // Written by the app before `lg` was configured (and while it still rendered `xxl`): no `lg` in either record.
      const before = (variants: Record<string, number>) =>
        createProfilePictures({ storage: diskStorage({ root: app.mediaRoot }), users: app.users, variants });
      const small = await before({ sm: 64, md: 256 }).upload('1', jpeg);
      const large = await before({ sm: 64, md: 256, xl: 1024, xxl: 2048 }).upload('2', jpeg);
      const location = async (target: string) => {
        const res = await app.send(target);
        expect(res.status).toBe(302);
        return res.headers.location;
      };
      expect(await location('/avatar/1?variant=xl')).toBe(app.pictures.url(small, 'md'));
      expect(await location('/avatar/1?variant=lg')).toBe(`/media/${small.variants.md!.key}`);
      expect(await location('/avatar/2?variant=lg')).toBe(`/media/${large.variants.xl!.key}`);
      const followed = await app.send((await location('/avatar/2?variant=lg'))!);
      expect((await sharp(followed.body).metadata()).width).toBe(1024);
      // An upload's JSON names a URL for every configured variant, by the same rule as the avatar route.
      const { picture } = (await app.upload('3', jpeg)).json;
      expect(Object.keys(picture.urls)).toEqual(['sm', 'md', 'lg', 'xl']);
      for (const name of ['sm', 'md', 'lg', 'xl']) expect(await location(`/avatar/3?variant=${name}`)).toBe(picture.urls[name]);
    });

    it('answers the placeholder SVG for a user without a picture', async () => {
      const app = await setup();
      const res = await app.send('/avatar/1?variant=lg');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      // The media route's: an SVG opened as a document could run script, and any site could embed it.
      expect(safetyHeadersOf(res)).toEqual(INERT_PICTURE_HEADERS);
      expect(safetyHeadersOf(await app.send('/avatar/1', { method: 'HEAD' }))).toEqual(INERT_PICTURE_HEADERS);
      expect(res.text).toBe(app.pictures.placeholder({ id: '1' }));
      expect(res.text).toContain('>?</text>');
    });

    it('draws the initial from getUsername and escapes the user id', async () => {
      const app = await setup({ getUsername: async (id: string) => (id === 'a b' ? 'ada' : null) });
      const res = await app.send('/avatar/a%20b');
      expect(res.text).toBe(app.pictures.placeholder({ id: 'a b', username: 'A' }));
      expect(res.text).toContain('>A</text>');
    });

    it('never reveals more of the username than its initial on the public avatar route', async () => {
      const app = await setup({ getUsername: async () => 'ada_lovelace' });
      const res = await app.send('/avatar/7');
      expect(res.status).toBe(200);
      expect(res.text).toContain('>A</text>');
      expect(res.text).not.toMatch(/lovelace|ada_/i);
    });

    it('answers 400 for an unknown variant and 404 for a missing or malformed user id', async () => {
      const app = await setup();
      const bad = await app.send('/avatar/1?variant=xl');
      expect([bad.status, bad.json.error.code]).toEqual([400, 'UNKNOWN_VARIANT']);
      expect(bad.json.error.message).toBe('There is no picture size "xl"; use sm, md, lg.');
      for (const target of ['/avatar/', '/avatar/%E0%A4%A', '/avatar/a%2Fb', `/avatar/${'x'.repeat(300)}`]) {
        expect([target, (await app.send(target)).status]).toEqual([target, notFoundStatus(target)]);
      }
    });

    it('answers 404 to a user id with a NUL or another control character, before any lookup', async () => {
      // No PostgreSQL text column holds a NUL: the repository's read failed and the public route answered 502
      // STORAGE_FAILED (and an app's getUsername query threw) for anyone asking for /avatar/%00.
      const looked: string[] = [];
      const memory = memoryUserRepository();
      const users: UserRepository = { ...memory, getPicture: (id) => (looked.push(id), memory.getPicture(id)) };
      const app = await setup({ getUsername: async (id: string) => (looked.push(id), null) }, { users });
      for (const target of ['/avatar/%00', '/avatar/a%00b', '/avatar/a%0Ab', '/avatar/%7F', '/avatar/a%00b?variant=sm']) {
        const res = await app.send(target);
        expect([target, res.status, res.text]).toEqual([target, 404, 'Not found']);
      }
      expect(looked).toEqual([]);
      // Other characters are still ids: a space, letters beyond ASCII, an emoji.
      for (const target of ['/avatar/a%20b', '/avatar/%C3%A9l%C3%A8ve', '/avatar/%E5%B1%B1%F0%9F%98%80']) {
        expect([target, (await app.send(target)).status]).toEqual([target, 200]);
      }
      expect(looked).toEqual(['a b', 'a b', 'élève', 'élève', '山😀', '山😀']);
    });
  });
}

// --- helpers ---

interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One request on a fresh connection; the path is sent exactly as given (no normalisation). */
export function request(port: number, target: string, init: RequestInit = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: target, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, body, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Writes `head` on a raw socket (optionally then keeps writing body bytes, as a client that ignores the answer)
 * and reads until the server closes. Rejects after 5 s: a server that waits for a body it should not read fails.
 */
export async function rawExchange(
  port: number,
  head: string,
  options: { keepWriting?: boolean; chunked?: boolean } = {},
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  let open = true;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {}); // EPIPE / ECONNRESET once the server closes while we write: expected
  socket.write(head);
  const bytes = Buffer.alloc(64 * 1024, 0x61);
  const filler = options.chunked ? Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]) : bytes;
  const pump = () => {
    while (open && options.keepWriting) if (!socket.write(filler)) return void socket.once('drain', pump);
  };
  pump();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 5 s; received: ${received.slice(0, 200)}`));
    }, 5_000);
    socket.once('close', () => {
      open = false;
      clearTimeout(timer);
      resolve();
    });
  });
  const end = received.indexOf('\r\n\r\n');
  const lines = received.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  let body = received.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: Number(lines[0]!.split(' ')[1]), headers, body };
}

/** Builds a `multipart/form-data` body. */
export function multipart(parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }>) {
  const boundary = `----pp${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
    const type = part.type ? `\r\nContent-Type: ${part.type}` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Listens on 127.0.0.1:0 and returns the started app's address and closer. */
export async function listen(server: http.Server, errors: unknown[]): Promise<StartedApp> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Wraps a storage so that every object's body fails after its first 16 bytes with a reset, as a remote storage's
 * socket would: the response is cut short, a fault of the app (not of the client) that must stay visible. With
 * `beforeFirstByte`, the body fails before it delivers anything (the response headers are set but not yet written);
 * with `withoutError`, it closes without an error and without ending (a stream that just stops). `fault` is the error
 * it fails with; `after`, when given, holds the failure back until it resolves (until the client has read the first
 * bytes, say).
 */
export function failingBodyStorage(
  base: StorageAdapter,
  { beforeFirstByte = false, withoutError = false, fault = undefined as Error | undefined, after = undefined as Promise<unknown> | undefined } = {},
): StorageAdapter {
  return {
    ...base,
    async get(key: string) {
      const object = await base.get(key);
      if (!object) return null;
      object.body.destroy();
      let delivered = beforeFirstByte;
      const failing = new Readable({
        read() {
          if (!delivered) {
            delivered = true;
            this.push(Buffer.alloc(16));
            return;
          }
          const error = withoutError ? undefined : (fault ?? Object.assign(new Error('storage connection reset'), { code: 'ECONNRESET' }));
          void Promise.resolve(after).then(() => this.destroy(error));
        },
      });
      return { ...object, body: failing };
    },
  };
}

/** Parses `x-test-user: id[:username]`. */
export function parseTestUser(header: unknown): { id: string; username?: string } | null {
  if (typeof header !== 'string' || header === '') return null;
  const [id, username] = header.split(':');
  return username ? { id: id!, username } : { id: id! };
}

async function listFiles(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Files under `root` this process holds open (Linux: /proc/self/fd). */
async function openFilesUnder(root: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(`${root}${path.sep}`)) open.push(target);
  }
  return open;
}

function keysOf(record: PictureRecord): string[] {
  return [...Object.values(record.variants).map((variant) => variant.key), ...(record.master ? [record.master.key] : [])];
}

function withoutUrls(picture: Record<string, unknown>): Record<string, unknown> {
  const { urls: _urls, ...record } = picture;
  return record;
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}
