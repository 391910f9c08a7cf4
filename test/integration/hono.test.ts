/**
 * The adapter conformance suite against the web-standard handler (`profile-picture/web`) in Hono on
 * `@hono/node-server`, plus what only the web handler has: `basePath`, and a plain `Request` without a Node request
 * under it.
 */
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import net, { connect as netConnect } from 'node:net';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { createRequestHandler, type RequestHandlerOptions } from '../../adapters/web/index.js';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';
import { ENVELOPE_ALLOWANCE } from '../../src/intake/content-type.js';
import { DRAIN_MAX_BYTES, DRAIN_MAX_TO_END } from '../../src/intake/drain.js';
import { describeAdapters, listen, multipart, parseTestUser, rawExchange, type AdapterHarness } from './adapter-suite.js';
import { serviceWithFailingReads } from './server-fault.js';
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
      // One upload, not four at once: @hono/node-server closes the socket 500 ms after its answer, and four 2.7 MB
      // bodies from one client process on a busy CI machine once took longer than that (EPIPE). That cut is the
      // server's choice (README: "Early refusals without the socket"); what this test holds is that fetch can read it.
      const outcomes = await fetchUploads(`${server.base}/upload-profile-picture/`, 2_700_000, [{ accept: 'application/json' }]);
      expect(outcomes).toEqual(['401 UNAUTHENTICATED']);
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

  it('prints a 5xx it answered itself with console.error by default, never a 4xx', async () => {
    const { pictures, fault, mediaPath } = await serviceWithFailingReads();
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const handle = createRequestHandler(pictures, { getUser: () => null });
      expect((await handle(new Request(`http://localhost${mediaPath}`)))!.status).toBe(502);
      const anonymous = new Request('http://localhost/upload-profile-picture/', { method: 'POST', headers: { accept: 'application/json' } });
      expect((await handle(anonymous))!.status).toBe(401);
      expect(printed.mock.calls.map(([err]) => [(err as { code: string }).code, (err as Error).cause])).toEqual([['STORAGE_FAILED', fault]]);
    } finally {
      printed.mockRestore();
    }
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

  it(`with \`incoming\`, one refused body takes one of the ${DRAIN_MAX_TO_END} read-to-end slots, not two`, async () => {
    // 40 refusals (415, read through the web stream) of bodies declared within the limit that arrive slowly: each is
    // read to its end while slots last; one counted twice would leave the last ones the one-second lingering close.
    const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), limits: { bodyTimeout: 10_000 } });
    const handle = createRequestHandler(pictures, { getUser: () => ({ id: 1 }) });
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.use(async (c, next) => (await handle(c.req.raw, { incoming: c.env.incoming })) ?? next());
    const adaptor = createAdaptorServer({ fetch: app.fetch }) as http.Server;
    const accepted: net.Socket[] = [];
    adaptor.on('connection', (socket: net.Socket) => accepted.push(socket));
    const server = await listen(adaptor, []);
    const clients: net.Socket[] = [];
    try {
      const answered = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const socket = netConnect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
          clients.push(socket);
          socket.on('error', () => {});
          socket.write('POST /upload-profile-picture/ HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n');
          socket.write(Buffer.alloc(1000));
          const [chunk] = (await once(socket, 'data')) as [Buffer];
          return chunk.toString('latin1').split(' ')[1];
        }),
      );
      expect(new Set(answered)).toEqual(new Set(['415']));
      // Past the lingering close's grace: every server socket is still reading its body (the client half-closed by
      // the answer sees only a FIN, so the server side tells).
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect([accepted.length, accepted.filter((socket) => socket.destroyed).length]).toEqual([40, 0]);
    } finally {
      for (const socket of clients) socket.destroy();
      await server.close();
    }
  });

  describe('reading stops at the size limit', () => {
    const fileSize = 64 * 1024;
    const maxBody = fileSize + ENVELOPE_ALLOWANCE;
    const CHUNK = 16 * 1024;
    // What may be pulled past the limit: the chunk that crosses it and the one the web stream has queued ahead.
    const PAST_LIMIT = 2 * CHUNK;
    const limited = () => createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), limits: { fileSize } });
    const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="profile_picture"; filename="a.jpg"\r\n\r\n');

    /**
     * A plain Request (no server, no Node request) whose body is a stream we count: endless, or `total` bytes. After
     * the answer and 200 ms more, reports what the handler pulled and whether it cancelled the stream.
     */
    async function refuse(user: { id: number } | null, headers: Record<string, string>, total = Infinity, first = head) {
      const handle = createRequestHandler(limited(), { getUser: () => user });
      const stats = { pulled: 0, cancelled: false };
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (stats.pulled >= total) return controller.close();
          const chunk = stats.pulled === 0 ? first : new Uint8Array(Math.min(CHUNK, total - stats.pulled));
          stats.pulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
        cancel() {
          stats.cancelled = true;
        },
      });
      const response = (await handle(
        new Request('http://app.test/upload-profile-picture/', {
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'multipart/form-data; boundary=b', ...headers },
          body,
          duplex: 'half',
        } as RequestInit),
      ))!;
      const { error } = (await response.json()) as { error: { code: string } };
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { status: response.status, code: error.code, ...stats };
    }

    it('a chunked body over the limit: 413, cancelled at the limit plus the envelope (and a chunk in flight)', async () => {
      const res = await refuse({ id: 1 }, {});
      expect([res.status, res.code, res.cancelled]).toEqual([413, 'FILE_TOO_LARGE', true]);
      expect(res.pulled).toBeGreaterThan(fileSize); // the file part outgrew its limit
      expect(res.pulled).toBeLessThanOrEqual(maxBody + PAST_LIMIT);
    });

    it('a body that sends more than the limit is not read to the end it declared', async () => {
      // A Request is free to declare any length: this one claims 100 KiB, ends its form at once, then never stops.
      const res = await refuse({ id: 1 }, { 'content-length': String(100 * 1024) }, Infinity, Buffer.from('--b--\r\n'));
      expect([res.status, res.code, res.cancelled]).toEqual([413, 'FILE_TOO_LARGE', true]);
      expect(res.pulled).toBeLessThanOrEqual(maxBody + PAST_LIMIT);
    });

    it('a body declared over the limit: 413 before reading, cancelled at once', async () => {
      const res = await refuse({ id: 1 }, { 'content-length': String(50e6) });
      expect([res.status, res.code, res.cancelled]).toEqual([413, 'FILE_TOO_LARGE', true]);
      expect(res.pulled).toBeLessThanOrEqual(CHUNK); // what the stream pulls by itself on creation
    });

    it('a chunked body refused before reading (401): cancelled at once', async () => {
      const res = await refuse(null, {});
      expect([res.status, res.code, res.cancelled]).toEqual([401, 'UNAUTHENTICATED', true]);
      expect(res.pulled).toBeLessThanOrEqual(CHUNK);
    });

    it('a body declared within the limit and refused before reading (401) is still read to its end', async () => {
      const total = 48 * 1024;
      const res = await refuse(null, { 'content-length': String(total) }, total);
      expect([res.status, res.code, res.cancelled, res.pulled]).toEqual([401, 'UNAUTHENTICATED', false, total]);
    });

    /**
     * Hono on @hono/node-server; `flood` sends an upload head and then 64 KiB chunks without end, and reports the
     * answer, when the server closed, the bytes its socket read and, without `incoming`, the bytes the handler pulled
     * from `request.body` (the server's own cleanup may read more: its policy, not ours).
     */
    async function floodHono(withIncoming: boolean, declared: number | undefined) {
      const handle = createRequestHandler(limited(), { getUser: () => ({ id: 1 }) });
      let pulled = 0;
      const app = new Hono<{ Bindings: HttpBindings }>();
      app.use(async (c, next) => {
        if (withIncoming) return (await handle(c.req.raw, { incoming: c.env.incoming })) ?? next();
        const counting = new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            pulled += chunk.byteLength;
            controller.enqueue(chunk);
          },
        });
        const counted = new Request(c.req.raw, { body: c.req.raw.body!.pipeThrough(counting), duplex: 'half' } as RequestInit);
        return (await handle(counted)) ?? next();
      });
      const sockets: net.Socket[] = [];
      const server = createAdaptorServer({ fetch: app.fetch }) as http.Server;
      server.on('connection', (socket: net.Socket) => sockets.push(socket));
      const started = await listen(server, []);
      try {
        const begin = Date.now();
        const length = declared === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
        const answer = await rawExchange(
          started.port,
          `POST /upload-profile-picture/ HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Type: multipart/form-data; boundary=b\r\n${length}\r\n\r\n`,
          { keepWriting: true, chunked: declared === undefined },
        );
        return { ...answer, closedAfterMs: Date.now() - begin, bytesRead: sockets[0]!.bytesRead, pulled };
      } finally {
        await started.close();
      }
    }

    for (const declared of [undefined, 50e6]) {
      const shape = declared === undefined ? 'a chunked body' : 'a body declared over the limit';
      it(`${shape} through Hono with \`incoming\`: the lingering close of the Node path, bytes bounded`, async () => {
        const res = await floodHono(true, declared);
        expect([res.status, res.headers.connection]).toEqual([413, 'close']);
        expect(res.closedAfterMs).toBeLessThan(2_500);
        // Up to the limit before the answer, then at most the drain's byte cap after it (plus socket buffers).
        expect(res.bytesRead).toBeLessThan(maxBody + Math.max(DRAIN_MAX_BYTES, 2 * maxBody) + 256 * 1024);
      });

      it(`${shape} through Hono without \`incoming\`: the handler pulls no more than the limit and the socket chunks in flight`, async () => {
        const res = await floodHono(false, declared);
        expect(res.status).toBe(413);
        expect(res.pulled).toBeLessThanOrEqual((declared === undefined ? maxBody : 0) + 2 * 64 * 1024);
      });
    }
  });
});
