/**
 * The adapter conformance suite against Koa 3 (`koa`) and Koa 2 (`koa2` alias), plus koa-session.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import Koa from 'koa';
import koaMount from 'koa-mount';
import session from 'koa-session';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { profilePictureRouter } from '../../adapters/koa/index.js';
import { createProfilePictures, memoryStorage, memoryUserRepository, ProfilePictureError, type StorageAdapter } from '../../src/index.js';
import { describeAdapters, failingBodyStorage, listen, multipart, parseTestUser, request, type AdapterHarness } from './adapter-suite.js';
import { serviceWithFailingReads } from './server-fault.js';

const Koa2 = createRequire(import.meta.url)('koa2') as typeof Koa;

const majors = [
  { name: 'koa 3', Koa },
  { name: 'koa 2', Koa: Koa2 },
];

function koaHarness(name: string, KoaClass: typeof Koa): AdapterHarness {
  return {
    name,
    create: (pictures, options) => profilePictureRouter(pictures, options as never),
    userOf: (ctx) => (ctx as Koa.Context).state.user ?? null,
    async start(pictures, options, mount) {
      const errors: unknown[] = [];
      const app = new KoaClass();
      app.on('error', (err: unknown) => errors.push(err)); // replaces Koa's default logging; onerror still answers 500
      app.use(async (ctx, next) => {
        const user = parseTestUser(ctx.get('x-test-user'));
        if (user) ctx.state.user = user;
        await next();
      });
      const router = profilePictureRouter(pictures, { getUser: (ctx: Koa.Context) => ctx.state.user ?? null, ...options } as never);
      app.use(mount ? koaMount(mount, router) : router);
      app.use((ctx) => {
        ctx.status = 404;
        ctx.body = 'app-fallthrough';
      });
      return listen(http.createServer(app.callback()), errors);
    },
  };
}

describeAdapters(majors.map((major) => koaHarness(major.name, major.Koa)));

for (const major of majors) {
  describe(`${major.name}: Koa specifics`, () => {
    it('works with koa-session (ctx.session.user)', async () => {
      const users = memoryUserRepository();
      const pictures = createProfilePictures({ storage: memoryStorage(), users });
      const koa = new major.Koa();
      koa.keys = ['test-key'];
      koa.use(session({ signed: true }, koa as never));
      koa.use(async (ctx, next) => {
        if (ctx.method === 'POST' && ctx.path === '/login') {
          ctx.session!.user = { id: 'k-9', username: 'kim' };
          ctx.body = 'ok';
          return;
        }
        await next();
      });
      koa.use(profilePictureRouter(pictures, { getUser: (ctx) => ctx.session?.user ?? null }));
      const app = await listen(http.createServer(koa.callback()), []);
      try {
        const anonymous = await request(app.port, '/remove-profile-picture/', { method: 'POST', headers: { accept: 'application/json' } });
        expect(anonymous.status).toBe(401);
        const login = await request(app.port, '/login', { method: 'POST' });
        const cookie = (login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
        const { default: sharp } = await import('sharp');
        const jpeg = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#00a' } }).jpeg().toBuffer();
        const form = multipart([{ name: 'profile_picture', filename: 'me.jpg', data: jpeg }]);
        const res = await request(app.port, '/upload-profile-picture/', {
          method: 'POST',
          headers: { cookie, accept: 'application/json', 'content-type': form.contentType },
          body: form.body,
        });
        expect(res.status).toBe(200);
        const { urls, ...picture } = res.json.picture;
        expect(await users.getPicture('k-9')).toEqual(picture);
        expect(Object.keys(urls).sort()).toEqual(['lg', 'md', 'sm']);
        const media = await request(app.port, urls.lg);
        expect([media.status, media.headers['content-type']]).toEqual([200, 'image/webp']);
      } finally {
        await app.close();
      }
    });

    /** The errors Koa's 'error' event reports while a picture is served from `storage`, its response cut short. */
    async function errorsWhileServing(storage: StorageAdapter) {
      const pictures = createProfilePictures({ storage, users: memoryUserRepository() });
      const record = await pictures.upload('1', await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer());
      const koa = new major.Koa();
      const errors: unknown[] = [];
      koa.on('error', (err: unknown) => errors.push(err));
      koa.use(profilePictureRouter(pictures, { getUser: () => null }));
      const app = await listen(http.createServer(koa.callback()), errors);
      try {
        await expect(request(app.port, pictures.url(record, 'md'))).rejects.toThrow(); // the response is cut short
        await new Promise((resolve) => setTimeout(resolve, 50));
        return errors as NodeJS.ErrnoException[];
      } finally {
        await app.close();
      }
    }

    it("reports a storage stream failing mid-response on app.on('error') once, as STORAGE_FAILED with the stream's error as cause", async () => {
      const errors = await errorsWhileServing(failingBodyStorage(memoryStorage()));
      // Not the stream's own error beside it: the default onServerError reports it, Koa's pipeline report is dropped.
      expect(errors.map((err) => [err.code, (err.cause as Error).message])).toEqual([['STORAGE_FAILED', 'storage connection reset']]);
    });

    it("reports a storage stream that closes unfinished without an error the same way, its cause a 'Premature close'", async () => {
      const errors = await errorsWhileServing(failingBodyStorage(memoryStorage(), { withoutError: true }));
      expect(errors.map((err) => [err.code, (err.cause as NodeJS.ErrnoException).code])).toEqual([
        ['STORAGE_FAILED', 'ERR_STREAM_PREMATURE_CLOSE'],
      ]);
    });

    it("reports a 'Premature close' of the app's own while the response stands: getUsername failing with one is a 500", async () => {
      const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
      // What the app's own stream gives when its source stops early (a user service's response cut, read through
      // stream.finished or pipeline): the client of this request did nothing wrong and is still waiting.
      const source = new Readable({ read() {} });
      source.destroy();
      const fault = await finished(source).then(() => null, (err: NodeJS.ErrnoException) => err);
      expect(fault?.code).toBe('ERR_STREAM_PREMATURE_CLOSE');
      const koa = new major.Koa();
      const errors: unknown[] = [];
      koa.on('error', (err: unknown) => errors.push(err));
      koa.use(profilePictureRouter(pictures, { getUser: () => null, getUsername: () => Promise.reject(fault) }));
      const app = await listen(http.createServer(koa.callback()), errors);
      try {
        const outcome = await Promise.race([
          request(app.port, '/avatar/42').then((res) => res.status, () => 'cut'),
          new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2_000)),
        ]);
        expect(outcome).toBe(500);
        expect(errors).toEqual([fault]);
      } finally {
        await app.close();
      }
    });

    it('lets middleware upstream replace the media body: a 304 to If-Modified-Since, a large page of its own', async () => {
      const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
      const record = await pictures.upload('1', await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer());
      const koa = new major.Koa();
      const errors: unknown[] = [];
      koa.on('error', (err: unknown) => errors.push(err));
      // Koa 3 destroys the stream body it replaces with a non-stream, which must not cut the response that replaced
      // it. koa-conditional-get's whole middleware (the route answers If-None-Match itself, not If-Modified-Since),
      // and one answering with a body larger than the socket takes at once.
      const page = Buffer.alloc(8 * 1024 * 1024, 0x61);
      koa.use(async (ctx, next) => {
        await next();
        if (ctx.get('x-replace')) ctx.body = page;
        else if (ctx.fresh) {
          ctx.status = 304;
          ctx.body = null;
        }
      });
      koa.use(profilePictureRouter(pictures, { getUser: () => null }));
      const app = await listen(http.createServer(koa.callback()), errors);
      try {
        const first = await request(app.port, pictures.url(record, 'md'));
        const lastModified = first.headers['last-modified']!;
        expect([first.status, lastModified]).toEqual([200, expect.any(String)]);
        const again = await request(app.port, pictures.url(record, 'md'), { headers: { 'if-modified-since': lastModified } });
        expect([again.status, again.body.length]).toEqual([304, 0]);
        const replaced = await request(app.port, pictures.url(record, 'md'), { headers: { 'x-replace': '1' } });
        expect([replaced.status, replaced.body.equals(page)]).toEqual([200, true]);
        expect(errors).toEqual([]);
      } finally {
        await app.close();
      }
    });

    it('still cuts the response when the storage stream stops unfinished under middleware that pipes it on', async () => {
      const pictures = createProfilePictures({ storage: failingBodyStorage(memoryStorage(), { withoutError: true }), users: memoryUserRepository() });
      const record = await pictures.upload('1', await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer());
      const koa = new major.Koa();
      koa.on('error', () => {});
      // As koa-compress does: the body becomes a stream the route's body is piped into, which pipe() never ends.
      koa.use(async (ctx, next) => {
        await next();
        if (ctx.body instanceof Readable) ctx.body = ctx.body.pipe(new PassThrough());
      });
      koa.use(profilePictureRouter(pictures, { getUser: () => null }));
      const app = await listen(http.createServer(koa.callback()), []);
      try {
        const outcome = await Promise.race([
          request(app.port, pictures.url(record, 'md')).then((res) => `complete ${res.status}`, () => 'cut'),
          new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2_000)),
        ]);
        expect(outcome).toBe('cut');
      } finally {
        await app.close();
      }
    });

    it("reports a 5xx it answered itself on app.on('error') with ctx by default (Koa's convention), never a 4xx", async () => {
      const { pictures, fault, mediaPath } = await serviceWithFailingReads();
      const koa = new major.Koa();
      const errors: Array<[Error, Koa.Context]> = [];
      koa.on('error', (err: Error, ctx: Koa.Context) => errors.push([err, ctx]));
      koa.use(profilePictureRouter(pictures, { getUser: () => null }));
      const app = await listen(http.createServer(koa.callback()), []);
      try {
        expect((await request(app.port, mediaPath)).status).toBe(502);
        const anonymous = await request(app.port, '/upload-profile-picture/', { method: 'POST', headers: { accept: 'application/json' } });
        expect(anonymous.status).toBe(401);
        expect(errors.map(([err, ctx]) => [(err as Error & { code: string }).code, err.cause, ctx.path])).toEqual([
          ['STORAGE_FAILED', fault, mediaPath],
        ]);
        // The error itself, as the app's own listener always got it: its stack is not touched.
        const [err] = errors[0]!;
        expect([Object.getPrototypeOf(err) === ProfilePictureError.prototype, Object.hasOwn(err, 'code')]).toEqual([true, true]);
        expect(err.stack).not.toContain('disk full');
      } finally {
        await app.close();
      }
    });

    /** What Koa prints to stderr (through console.error) while a failing media read is answered 502. */
    async function printedByKoa(configure: (koa: Koa) => void) {
      const { pictures, mediaPath } = await serviceWithFailingReads();
      const koa = new major.Koa();
      configure(koa);
      koa.use(profilePictureRouter(pictures, { getUser: () => null }));
      const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
      const app = await listen(http.createServer(koa.callback()), []);
      try {
        expect((await request(app.port, mediaPath)).status).toBe(502);
        return printed.mock.calls.map((args) => args.map(String).join(' '));
      } finally {
        printed.mockRestore();
        await app.close();
      }
    }

    it("prints the backend's reason when Koa's own printer is the only listener: the cause follows the stack", async () => {
      const [output, ...more] = await printedByKoa(() => {});
      expect(more).toEqual([]);
      // Koa's own format (the stack indented by two spaces), then the cause as Node shows it, code included.
      expect(output).toMatch(/^\n {2}ProfilePictureError: The picture could not be read\.\n {6}at /);
      expect(output).toMatch(/\n {2}Caused by: Error: disk full\n {6}at [^]*\n {4}code: 'ENOSPC'\n/);
    });

    it("prints nothing when the app is silent, and leaves an app's own onerror the plain error", async () => {
      expect(await printedByKoa((koa) => (koa.silent = true))).toEqual([]);
      const own: Error[] = [];
      expect(await printedByKoa((koa) => (koa.onerror = (err: Error) => void own.push(err)))).toEqual([]);
      expect(own.map((err) => [(err as { code?: string }).code, (err.cause as Error).message, err.stack!.includes('disk full')])).toEqual([
        ['STORAGE_FAILED', 'disk full', false],
      ]);
    });
  });
}
