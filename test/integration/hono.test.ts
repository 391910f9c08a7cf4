/**
 * The adapter conformance suite against the web-standard handler (`profile-picture/web`) in Hono on
 * `@hono/node-server`, plus what only the web handler has: `basePath`, and a plain `Request` without a Node request
 * under it.
 */
import type { IncomingMessage } from 'node:http';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createRequestHandler, type RequestHandlerOptions } from '../../adapters/web/index.js';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';
import { describeAdapters, listen, multipart, parseTestUser, type AdapterHarness } from './adapter-suite.js';
import { fetchUploads } from './upload-clients.js';

/** The user of a request: a web handler sees only the `Request`, so the test "session" is its header. */
const userOf = (request: unknown) => parseTestUser((request as Request).headers.get('x-test-user'));

const harness: AdapterHarness = {
  name: 'hono (web handler on @hono/node-server)',
  create: (pictures, options) => createRequestHandler(pictures, options as never),
  userOf,
  socketOf: (request) => incomingOf.get(request as Request)!.socket,
  normalizesRequestTarget: true,
  async start(pictures, options, mount) {
    const errors: unknown[] = [];
    const handle = createRequestHandler(pictures, { getUser: userOf, basePath: mount, ...options } as RequestHandlerOptions);
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.use(async (c, next) => {
      incomingOf.set(c.req.raw, c.env.incoming);
      return (await handle(c.req.raw, { incoming: c.env.incoming })) ?? next();
    });
    app.all('*', (c) => c.text('app-fallthrough', 404));
    app.onError((err, c) => {
      errors.push(err);
      return c.text('Internal Server Error', 500); // what Hono's default handler answers
    });
    return listen(createAdaptorServer({ fetch: app.fetch }) as never, errors);
  },
};

const incomingOf = new WeakMap<Request, IncomingMessage>();

describeAdapters([harness]);

describe('web handler specifics', () => {
  const service = (publicPath = '/media/') => createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), publicPath });
  const jpeg = () => sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer();

  it("without `incoming`, a 401 to a 2.7 MB upload still reaches Node's fetch (the server's own drain closes the socket)", async () => {
    const handle = createRequestHandler(service(), { getUser: () => null });
    const app = new Hono();
    app.use(async (c, next) => (await handle(c.req.raw)) ?? next());
    const server = await listen(createAdaptorServer({ fetch: app.fetch }) as never, []);
    try {
      const outcomes = await fetchUploads(`${server.base}/upload-profile-picture/`, 2_700_000, Array(4).fill({ accept: 'application/json' }));
      expect(outcomes).toEqual(Array(4).fill('401 UNAUTHENTICATED'));
    } finally {
      await server.close();
    }
  });

  it('refuses a basePath that is not a path, and options that are not an object, naming the option', () => {
    expect(() => createRequestHandler(service(), undefined as never)).toThrow(
      new TypeError('[profile-picture] Expected an object with `getUser` for `options` but received undefined'),
    );
    expect(() => createRequestHandler(service(), { getUser: () => null, basePath: 'account' })).toThrow(
      new TypeError('[profile-picture] Expected a path starting with "/" (no query or fragment) for `basePath` but received "account" (string)'),
    );
  });

  it('answers a plain Request (no Node request under it) and ignores other routes', async () => {
    const pictures = service('/account/media/');
    const handle = createRequestHandler(pictures, { getUser: () => ({ id: 7 }), basePath: '/account/' });
    expect(await handle(new Request('http://app.test/avatar/7'))).toBeNull();
    const form = multipart([{ name: 'profile_picture', filename: 'a.jpg', data: await jpeg() }]);
    const response = (await handle(
      new Request('http://app.test/account/upload-profile-picture', {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': form.contentType },
        body: form.body,
      }),
    ))!;
    expect(response.status).toBe(200);
    const { picture } = (await response.json()) as { picture: { urls: Record<string, string> } };
    const media = (await handle(new Request(`http://app.test${picture.urls.sm}`)))!;
    expect([media.status, media.headers.get('content-type')]).toEqual([200, 'image/webp']);
    expect((await sharp(Buffer.from(await media.arrayBuffer())).metadata()).width).toBe(64);
  });

  it('stops reading a plain Request body at the limit and cancels its stream', async () => {
    const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), limits: { fileSize: 64 * 1024 } });
    const handle = createRequestHandler(pictures, { getUser: () => ({ id: 1 }) });
    let pulled = 0;
    let cancelled = false;
    const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="profile_picture"; filename="a.jpg"\r\n\r\n');
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = pulled === 0 ? head : new Uint8Array(16 * 1024);
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request('http://app.test/upload-profile-picture/', {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'multipart/form-data; boundary=b' },
      body,
      duplex: 'half',
    } as RequestInit);
    const response = (await handle(request))!;
    expect([response.status, ((await response.json()) as { error: { code: string } }).error.code]).toEqual([413, 'FILE_TOO_LARGE']);
    // The refused body is discarded up to the byte cap (no socket tells when the answer is out), then cancelled.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(3 * 1024 * 1024);
  });
});
