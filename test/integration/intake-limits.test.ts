/**
 * uploadRequest() against hostile clients on raw sockets: bodies that are too big (declared, undeclared, lying),
 * clients that hang up mid-body, bodies that trickle. Each case proves what the client receives, how much the
 * server read, and that storage, temp files and the record are untouched.
 *
 * The server runs with one body slot and one processing slot, so a slot leaked by any failure path would make the
 * next upload wait and fail.
 */
import { describe, expect, it } from 'vitest';
import { DRAIN_GRACE_MS, DRAIN_MAX_TO_END } from '../../src/intake/drain.js';
import { pngGreen } from '../fixtures/index.js';
import {
  delay,
  fileHead,
  keepWriting,
  MiB,
  MULTIPART,
  multipart,
  openRequest,
  post,
  useIntakeServer,
  writePaced,
  type IntakeServer,
  type RawRequest,
} from './intake-helpers.js';

const FIFTY_MB = 50 * MiB;
const LIMIT = MiB;
/** What the server may have read past the limit: the envelope allowance plus socket and stream buffers. */
const READ_SLACK = 128 * 1024;

const server = useIntakeServer({ concurrency: 1, bodyConcurrency: 1, maxQueue: 4, limits: { fileSize: LIMIT, bodyTimeout: 2_000 } });
const slow = useIntakeServer({ concurrency: 1, bodyConcurrency: 1, maxQueue: 4, limits: { fileSize: LIMIT, bodyTimeout: 300 } });

let sequence = 0;
const nextId = (name: string) => `${name}-${++sequence}`;

async function seed(s: IntakeServer, userId: string) {
  const response = await post(s.port, userId, multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]));
  expect(response.status).toBe(200);
  return s.snapshot(userId);
}

/** Proves the state is as before, with no temp file, and that the server (and its one slot) takes the next upload. */
async function expectUnchangedAndServing(s: IntakeServer, userId: string, before: Awaited<ReturnType<typeof seed>>) {
  expect(await s.snapshot(userId)).toEqual(before);
  expect(await s.files()).not.toContainEqual(expect.stringContaining('.tmp-'));
  const next = await post(s.port, `${userId}-next`, multipart([{ name: 'profile_picture', filename: 'b.png', data: await pngGreen() }]));
  expect(next.status).toBe(200);
}

describe('uploadRequest: size limits', () => {
  it('413 for a declared Content-Length over the limit, before any body byte is sent', async () => {
    const s = server();
    const before = await seed(s, 'declared');
    const id = nextId('declared');
    const request = openRequest(s.port, 'declared', { 'content-type': MULTIPART, 'content-length': FIFTY_MB, 'x-test-id': id });
    const response = await request.response; // the client has written no body at all
    expect(request.written).toBe(0);
    expect(response.status).toBe(413);
    expect(response.json.error).toMatchObject({ code: 'FILE_TOO_LARGE', details: { limit: LIMIT, received: FIFTY_MB } });
    expect(response.headers.connection).toBe('close');
    await request.ended;
    request.socket.destroy();
    await expectUnchangedAndServing(s, 'declared', before);
  });

  it('accepts a file of exactly the limit when the declared length fits the envelope', async () => {
    const s = server();
    const png = await pngGreen();
    // A valid PNG padded to exactly LIMIT bytes (trailing bytes after IEND are ignored by decoders).
    const file = Buffer.concat([png, Buffer.alloc(LIMIT - png.length)]);
    const id = nextId('exact');
    const response = await post(s.port, 'exact', multipart([{ name: 'profile_picture', filename: 'a.png', data: file }]), {
      'content-type': MULTIPART,
      'x-test-id': id,
    });
    const outcome = await s.outcome(id);
    expect(outcome.code).toBeUndefined();
    expect(response.status).toBe(200);
  });

  it('413 for an undeclared (chunked) 50 MB body: received while the client keeps writing, read no further than the limit', async () => {
    const s = server();
    const before = await seed(s, 'chunked');
    const id = nextId('chunked');
    const request = openRequest(s.port, 'chunked', {
      'content-type': MULTIPART,
      'transfer-encoding': 'chunked',
      'x-test-id': id,
    });
    const head = fileHead();
    await request.write(Buffer.concat([Buffer.from(`${head.length.toString(16)}\r\n`), head, Buffer.from('\r\n')]));
    const writing = keepWriting(request, FIFTY_MB, { chunked: true });
    const response = await request.response;
    await writing;
    expect(response.status).toBe(413);
    expect(response.json.error?.code).toBe('FILE_TOO_LARGE');
    expect(response.writtenWhenAnswered).toBeLessThan(FIFTY_MB);
    const outcome = await s.outcome(id);
    expect(outcome.bytesRead).toBeGreaterThan(LIMIT);
    expect(outcome.bytesRead).toBeLessThan(LIMIT + READ_SLACK);
    await request.ended;
    request.socket.destroy();
    await expectUnchangedAndServing(s, 'chunked', before);
  });

  it('413 for a Content-Length that fits the envelope but a file that does not (50 MB keep coming)', async () => {
    const s = server();
    const before = await seed(s, 'lying-big');
    const id = nextId('lying-big');
    const request = openRequest(s.port, 'lying-big', {
      'content-type': MULTIPART,
      'content-length': LIMIT + 60 * 1024,
      'x-test-id': id,
    });
    await request.write(fileHead());
    const writing = keepWriting(request, FIFTY_MB);
    const response = await request.response;
    await writing;
    expect(response.status).toBe(413);
    expect(response.json.error?.code).toBe('FILE_TOO_LARGE');
    const outcome = await s.outcome(id);
    expect(outcome.bytesRead).toBeLessThan(LIMIT + READ_SLACK);
    await request.ended;
    request.socket.destroy();
    await expectUnchangedAndServing(s, 'lying-big', before);
  });

  it('400 for a Content-Length smaller than the 50 MB sent: the declared body is a truncated form', async () => {
    const s = server();
    const before = await seed(s, 'lying-small');
    const id = nextId('lying-small');
    const request = openRequest(s.port, 'lying-small', { 'content-type': MULTIPART, 'content-length': 2000, 'x-test-id': id });
    await request.write(fileHead());
    const writing = keepWriting(request, FIFTY_MB);
    const response = await request.response;
    request.socket.destroy();
    await writing;
    // Node's HTTP parser reads exactly the declared 2000 bytes as this request's body. The bytes after it are not a
    // valid next request, so Node itself may answer 400 and close before our response is written: either way, 400.
    expect(response.status).toBe(400);
    const outcome = await s.outcome(id);
    expect(outcome.code).toBe('BAD_REQUEST');
    expect(outcome.bytesRead).toBeLessThan(LIMIT + READ_SLACK);
    await expectUnchangedAndServing(s, 'lying-small', before);
  });

  it.each([
    ['a declared length over the limit (refused before reading)', false, true],
    ['a chunked body that passes the limit (refused mid-body)', true, true],
    ['a declared length over the limit, answered without Connection: close,', false, false],
    ['a chunked body that passes the limit, answered without Connection: close,', true, false],
  ])('%s is still read and discarded for a bounded grace after the response, then the socket closes', async (_, midBody, close) => {
    const s = server();
    const id = nextId('linger');
    const request = openRequest(s.port, 'linger', {
      'content-type': MULTIPART,
      ...(midBody ? { 'transfer-encoding': 'chunked' } : { 'content-length': FIFTY_MB }),
      'x-test-id': id,
      ...(close ? {} : { 'x-keep-alive-anyway': '1' }),
    });
    if (midBody) {
      const head = fileHead();
      await request.write(Buffer.concat([Buffer.from(`${head.length.toString(16)}\r\n`), head, Buffer.from('\r\n')]));
      await keepWriting(request, 2 * LIMIT, { chunked: true, chunkSize: 16 * 1024 });
    }
    const response = await request.response;
    expect(response.status).toBe(413);
    expect(response.headers.connection === 'close').toBe(close);
    // A client that keeps trickling (far below the byte cap) is cut off by the grace timer.
    const started = Date.now();
    let open = true;
    void request.closed.then(() => (open = false));
    const chunk = midBody ? Buffer.from('400\r\n' + 'a'.repeat(1024) + '\r\n') : Buffer.alloc(1024, 0x61);
    while (open && Date.now() - started < 5_000) {
      await request.write(chunk);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(open).toBe(false);
    expect(Date.now() - started).toBeGreaterThan(200); // not closed at once: it kept reading after the response
  });


  it('a client that finishes its body during the grace gets the 413 and a clean close, not a reset', async () => {
    const s = server();
    const body = Buffer.concat([fileHead(), Buffer.alloc(LIMIT + 100 * 1024, 0x61)]);
    const id = nextId('finisher');
    const request = openRequest(s.port, 'finisher', { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': id });
    const response = await request.response; // refused on the declared length, before any body byte
    expect(response.status).toBe(413);
    await request.write(body);
    await request.ended;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(request.errors).toEqual([]);
    request.socket.destroy();
  });
});

describe('uploadRequest: aborts and slow bodies', () => {
  it('a client that hangs up mid-body leaves no object, no temp file and an unchanged record', async () => {
    const s = server();
    const before = await seed(s, 'aborter');
    const png = await pngGreen();
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: Buffer.concat([png, Buffer.alloc(300_000)]) }]);
    const id = nextId('abort');
    const request = openRequest(s.port, 'aborter', { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': id });
    await request.write(body.subarray(0, 200_000));
    await s.started(id);
    request.socket.destroy();
    const outcome = await s.outcome(id);
    expect(outcome.code).toBe('ABORTED');
    await expectUnchangedAndServing(s, 'aborter', before);
  });

  it('a first-time uploader who hangs up leaves no record at all', async () => {
    const s = server();
    const before = await s.snapshot('newcomer');
    expect(before.record).toBeNull();
    const id = nextId('abort-new');
    const request = openRequest(s.port, 'newcomer', { 'content-type': MULTIPART, 'content-length': 500_000, 'x-test-id': id });
    await request.write(Buffer.concat([fileHead(), await pngGreen()]));
    await s.started(id);
    request.socket.destroy();
    expect((await s.outcome(id)).code).toBe('ABORTED');
    await expectUnchangedAndServing(s, 'newcomer', before);
  });

  it("the caller's AbortSignal aborts mid-body; the client still gets an answer", async () => {
    const s = server();
    const before = await seed(s, 'signalled');
    const id = nextId('signal');
    const request = openRequest(s.port, 'signalled', { 'content-type': MULTIPART, 'content-length': 500_000, 'x-test-id': id });
    await request.write(Buffer.concat([fileHead(), await pngGreen()]));
    await s.started(id);
    s.controller(id)!.abort();
    const response = await request.response;
    expect(response.status).toBe(499);
    expect((await s.outcome(id)).code).toBe('ABORTED');
    await request.ended;
    request.socket.destroy();
    await expectUnchangedAndServing(s, 'signalled', before);
  });

  it('408 TIMEOUT for a body that trickles in slower than limits.bodyTimeout, received while still trickling', async () => {
    const s = slow();
    const before = await seed(s, 'trickle');
    const id = nextId('trickle');
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
    const request = openRequest(s.port, 'trickle', { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': id });
    for (let i = 0; i < body.length - 1 && !request.answered; i += 16) {
      await request.write(body.subarray(i, Math.min(i + 16, body.length - 1)));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const response = await request.response;
    expect(response.status).toBe(408);
    expect(response.json.error).toMatchObject({ code: 'TIMEOUT', details: { timeout: 300 } });
    expect(response.writtenWhenAnswered).toBeLessThan(body.length);
    await request.ended;
    request.socket.destroy();
    await expectUnchangedAndServing(s, 'trickle', before);
  });

  it('408 for a client that sends the headers and then nothing', async () => {
    const s = slow();
    const id = nextId('silent');
    const request = openRequest(s.port, 'silent', { 'content-type': MULTIPART, 'content-length': 1000, 'x-test-id': id });
    const response = await request.response;
    expect(response.status).toBe(408);
    expect(response.headers.connection).toBe('close');
    await request.ended;
    request.socket.destroy();
  });
});

describe('uploadRequest: refusals of a body within the limit', () => {
  const BODY_TIMEOUT = 2_500;
  /** About 16 Mbit/s: a 2.7 MB photo takes 1.4 s, longer than the lingering grace. */
  const SLOW_LINK = 2_000_000;
  const PHOTO = 2_700_000;
  const refusing = useIntakeServer({
    concurrency: 1,
    bodyConcurrency: 1,
    maxQueue: 0,
    limits: { fileSize: 5 * MiB, uploadsPerUser: 1, bodyTimeout: BODY_TIMEOUT },
  });

  /** Holds the only body slot as user `hog` (who then gets 429; anyone else 503) until `release()`. */
  async function holdBodySlot(s: IntakeServer) {
    const id = nextId('hog');
    const hog = openRequest(s.port, 'hog', { 'content-type': MULTIPART, 'content-length': 5000, 'x-test-id': id });
    await hog.write(fileHead());
    await s.started(id);
    return {
      async release() {
        hog.socket.destroy();
        await s.outcome(id);
      },
    };
  }

  /** Writes 1 KiB every 50 ms until the server closes the connection or `limitMs` pass; resolves with when it closed. */
  async function trickleUntilClosed(request: RawRequest, limitMs: number): Promise<number> {
    const started = performance.now();
    let closedAt: number | undefined;
    void request.closed.then(() => (closedAt = performance.now()));
    while (closedAt === undefined && performance.now() - started < limitMs) {
      await request.write(Buffer.alloc(1024, 0x61));
      await delay(50);
    }
    request.socket.destroy();
    return (closedAt ?? Infinity) - started;
  }

  it('415, 429 and 503 reach a client on a slow link that sends its whole 2.7 MB body before reading: the body is read to its end', async () => {
    const s = refusing();
    const hog = await holdBodySlot(s);
    const body = multipart([{ name: 'profile_picture', filename: 'photo.jpg', data: Buffer.alloc(PHOTO, 0x61) }]);
    const cases = [
      { user: 'texter', contentType: 'text/plain', status: 415, code: 'NOT_MULTIPART' },
      { user: 'hog', contentType: MULTIPART, status: 429, code: 'TOO_MANY_UPLOADS' },
      { user: 'other', contentType: MULTIPART, status: 503, code: 'BUSY' },
    ];
    const results = await Promise.all(
      cases.map(async ({ user, contentType }) => {
        const id = nextId(`slow-${user}`);
        const request = openRequest(s.port, user, { 'content-type': contentType, 'content-length': body.length, 'x-test-id': id });
        const sentAll = await writePaced(request, body, SLOW_LINK);
        const response = await request.response;
        const bodyRead = await Promise.race([s.bodyEnded(id).then(() => true), delay(2_000).then(() => false)]);
        await request.ended; // the server closes once the body is in: a FIN, not a reset
        await delay(50);
        request.socket.destroy();
        const { status, headers, json } = response;
        const errors = request.errors.map((error) => error.message);
        return { sentAll, bodyRead, errors, status, code: json.error?.code, connection: headers.connection };
      }),
    );
    await hog.release();
    expect(results).toEqual(
      cases.map(({ status, code }) => ({ sentAll: true, bodyRead: true, errors: [], status, code, connection: 'close' })),
    );
  });

  it('a refused body within the limit that trickles is cut at limits.bodyTimeout after the refusal, not after the grace', async () => {
    const s = refusing();
    const request = openRequest(s.port, 'trickler', { 'content-type': 'text/plain', 'content-length': PHOTO });
    const response = await request.response;
    expect([response.status, response.headers.connection]).toEqual([415, 'close']);
    const closedAfter = await trickleUntilClosed(request, BODY_TIMEOUT + 2_000);
    expect(closedAfter).toBeGreaterThan(Math.max(DRAIN_GRACE_MS + 500, BODY_TIMEOUT - 300));
    expect(closedAfter).toBeLessThan(BODY_TIMEOUT + 1_000);
  });

  it('a body that outlasted limits.bodyTimeout (408) gets only the lingering close, not a second deadline', async () => {
    const s = refusing();
    const id = nextId('late');
    const request = openRequest(s.port, 'late', { 'content-type': MULTIPART, 'content-length': PHOTO, 'x-test-id': id });
    await request.write(fileHead());
    while (!request.answered) {
      await request.write(Buffer.alloc(1024, 0x61));
      await delay(50);
    }
    expect((await request.response).status).toBe(408);
    expect(await trickleUntilClosed(request, BODY_TIMEOUT + 2_000)).toBeLessThan(DRAIN_GRACE_MS + 700);
  });

  it(`reads at most DRAIN_MAX_TO_END (${DRAIN_MAX_TO_END}) refused bodies to their end at once; one more gets the lingering close`, async () => {
    const s = refusing();
    const requests = Array.from({ length: DRAIN_MAX_TO_END + 1 }, (_, i) =>
      openRequest(s.port, `flood-${i}`, { 'content-type': 'text/plain', 'content-length': PHOTO }),
    );
    for (const { status } of await Promise.all(requests.map((request) => request.response))) expect(status).toBe(415);
    const closed = new Set<number>();
    requests.forEach((request, i) => void request.closed.then(() => closed.add(i)));
    const started = performance.now();
    while (performance.now() - started < DRAIN_GRACE_MS + 800) {
      await Promise.all(requests.map((request) => request.write(Buffer.alloc(1024, 0x61))));
      await delay(100);
    }
    const closedDuringGrace = closed.size;
    for (const request of requests) request.socket.destroy();
    await Promise.all(requests.map((request) => request.closed));
    expect(closedDuringGrace).toBe(1);
  });
});
