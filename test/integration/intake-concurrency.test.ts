/**
 * uploadRequest() under load: a bounded number of bodies are received at once and a bounded number of uploads are
 * processed at once; a bounded number wait, the rest get 503 BUSY with Retry-After — and slots and queue places are
 * given back on every path.
 *
 * Uploads are held "in flight" deterministically by sending the head and part of the body and then pausing: a
 * body slot is taken before the body is read, so a half-sent upload occupies it until its body completes. A
 * processing slot is held by an upload whose storage `put` waits at a gate the test opens.
 */
import { describe, expect, it, vi } from 'vitest';
import { pngGreen } from '../fixtures/index.js';
import { BUSY_RETRY_AFTER_SECONDS } from '../../src/intake/upload-request.js';
import type { PictureRecord, StorageAdapter } from '../../src/index.js';
import { fileHead, MULTIPART, multipart, openRequest, post, useIntakeServer, type IntakeServer } from './intake-helpers.js';

const server = useIntakeServer({ concurrency: 1, bodyConcurrency: 1, maxQueue: 1 });
const perUser = useIntakeServer({ concurrency: 4, maxQueue: 4, limits: { uploadsPerUser: 1 } });

/** Storage whose `put` waits until `openGate()`: an upload then holds its processing slot (and its body slot). */
let openGate!: () => void;
let gate = Promise.resolve();
let putReached!: Promise<void>;
let reachPut = () => {};
const closeGate = () => {
  gate = new Promise<void>((resolve) => (openGate = resolve));
  putReached = new Promise<void>((resolve) => (reachPut = resolve));
};
const holdPuts = (storage: StorageAdapter): StorageAdapter => ({
  ...storage,
  put: async (...args) => (reachPut(), await gate, storage.put(...args)),
});
const useGatedServer = (options: Parameters<typeof useIntakeServer>[0]) => useIntakeServer({ ...options, wrapStorage: holdPuts });
const gated = useGatedServer({ concurrency: 1, bodyConcurrency: 1, maxQueue: 1, limits: { bodyTimeout: 300 } });

let sequence = 0;

/** Starts an upload for `userId` and sends all but the last 100 bytes; `finish()` sends the rest. */
async function halfUpload(s: IntakeServer, userId: string) {
  const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
  const id = `${userId}-${++sequence}`;
  const request = openRequest(s.port, userId, { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': id });
  await request.write(body.subarray(0, body.length - 100));
  await s.started(id); // the handler ran: the slot or queue place is taken (synchronously, before any await)
  return {
    id,
    request,
    async finish() {
      await request.write(body.subarray(body.length - 100));
      return request.response;
    },
  };
}

describe('uploadRequest: uploads per user', () => {
  it('refuses a second simultaneous upload by the same user with 429 TOO_MANY_UPLOADS; other users and later uploads pass', async () => {
    const s = perUser();
    const slow = await halfUpload(s, 'mallory');
    const png = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);

    const again = await post(s.port, 'mallory', png, { 'content-type': MULTIPART, 'x-test-id': 'again' });
    expect([again.status, again.json.error?.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    expect(again.headers['retry-after']).toBe(String(BUSY_RETRY_AFTER_SECONDS));

    const other = await post(s.port, 'alice', png, { 'content-type': MULTIPART, 'x-test-id': 'other' });
    expect(other.status).toBe(200);

    expect((await slow.finish()).status).toBe(200);
    const later = await post(s.port, 'mallory', png, { 'content-type': MULTIPART, 'x-test-id': 'later' });
    expect(later.status).toBe(200);
  });
});

describe('uploadRequest: concurrency and queue', () => {
  it('with bodyConcurrency 1 and maxQueue 1, a third simultaneous body gets 503 BUSY with Retry-After; the others complete', async () => {
    const s = server();
    const first = await halfUpload(s, 'first');
    const second = await halfUpload(s, 'second');
    const filesBefore = await s.files();

    const third = await post(
      s.port,
      'third',
      multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]),
      { 'content-type': MULTIPART, 'x-test-id': 'third' },
    );
    expect(third.status).toBe(503);
    expect(third.json.error?.code).toBe('BUSY');
    expect(third.headers['retry-after']).toBe(String(BUSY_RETRY_AFTER_SECONDS));
    const outcome = await s.outcome('third');
    expect((outcome.error as { details?: unknown }).details).toEqual({ retryAfter: BUSY_RETRY_AFTER_SECONDS });
    expect(await s.pictures.get('third')).toBeNull();
    expect(await s.files()).toEqual(filesBefore);

    // The queued upload has not been read: it waits for the body slot, then completes.
    expect((await first.finish()).status).toBe(200);
    expect((await second.finish()).status).toBe(200);
    expect(await s.pictures.get('first')).not.toBeNull();
    expect(await s.pictures.get('second')).not.toBeNull();
  });

  it('a queued client that hangs up leaves the queue, so the next one is queued instead of refused', async () => {
    const s = server();
    const holder = await halfUpload(s, 'holder');
    const quitter = await halfUpload(s, 'quitter');
    quitter.request.socket.destroy();
    expect((await s.outcome(quitter.id)).code).toBe('ABORTED');

    const patient = await halfUpload(s, 'patient');
    expect((await holder.finish()).status).toBe(200);
    expect((await patient.finish()).status).toBe(200);
    expect(await s.pictures.get('quitter')).toBeNull();
    expect(await s.pictures.get('patient')).not.toBeNull();
  });

  it("a queued upload whose caller's signal fires leaves the queue with ABORTED", async () => {
    const s = server();
    const holder = await halfUpload(s, 'holder2');
    const cancelled = await halfUpload(s, 'cancelled');
    s.controller(cancelled.id)!.abort();
    expect((await s.outcome(cancelled.id)).code).toBe('ABORTED');
    // Its client still receives an answer, and the queue place is free again.
    expect((await cancelled.request.response).status).toBe(499);
    const next = await halfUpload(s, 'after-cancel');
    expect((await holder.finish()).status).toBe(200);
    expect((await next.finish()).status).toBe(200);
  });

  it('frees the slot after a failed upload: a refused body does not block the next one', async () => {
    const s = server();
    const refused = await post(s.port, 'refused', multipart([{ name: 'avatar', filename: 'a.png', data: await pngGreen() }]));
    expect(refused.json.error?.code).toBe('UNEXPECTED_FIELD');
    const broken = await post(s.port, 'broken', multipart([{ name: 'profile_picture', filename: 'a.png', data: 'not an image' }]));
    expect(broken.json.error?.code).toBe('NOT_AN_IMAGE');
    const ok = await post(s.port, 'fine', multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]));
    expect(ok.status).toBe(200);
  });

  it('a request queued for a body slot longer than limits.bodyTimeout gets BUSY; a client gone after its body was read still gets its picture', async () => {
    const s = gated();
    closeGate();
    const png = await pngGreen();
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: png }]);
    // The holder sends its whole body, then hangs up while its picture is being stored.
    const holder = openRequest(s.port, 'busy-holder', { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': 'busy-holder' });
    await holder.write(body);
    await s.started('busy-holder');
    const waiter = openRequest(s.port, 'waiter', { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': 'waiter' });
    await waiter.write(body);
    const refused = await waiter.response; // after ~300 ms in the queue for the one body slot
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe(String(BUSY_RETRY_AFTER_SECONDS));
    expect((await s.outcome('waiter')).code).toBe('BUSY');

    holder.socket.destroy();
    await holder.closed;
    openGate();
    const outcome = await s.outcome('busy-holder');
    expect(outcome.code).toBeUndefined();
    expect(await s.pictures.get('busy-holder')).toEqual(outcome.record);
    expect(await s.pictures.get('waiter')).toBeNull();
  });
});

/** Reads of each user's record, and every storage `put`, of the `counted` server below. */
const reads = new Map<string, number>();
let releaseSlowRead!: () => void;
const slowRead = new Promise<void>((resolve) => (releaseSlowRead = resolve));
let puts = 0;
const counted = useIntakeServer({
  concurrency: 1,
  bodyConcurrency: 1,
  maxQueue: 1,
  wrapUsers: (users) => ({
    ...users,
    getPicture: async (userId) => {
      reads.set(userId, (reads.get(userId) ?? 0) + 1);
      if (userId === 'read-broken') throw new Error('database offline');
      if (userId === 'read-slow') await slowRead; // until the test lets it go
      return users.getPicture(userId);
    },
  }),
  wrapStorage: (storage) => ({ ...storage, put: (...args) => (puts++, storage.put(...args)) }),
});

describe('uploadRequest: the read of the record while the request waits for a body slot', () => {
  it('a request refused BUSY costs no repository read; a queued one is read while it waits', async () => {
    const s = counted();
    const holder = await halfUpload(s, 'read-holder');
    const queued = await halfUpload(s, 'read-queued');
    const png = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
    const refused = await post(s.port, 'read-refused', png, { 'content-type': MULTIPART, 'x-test-id': 'read-refused' });
    expect([refused.status, refused.json.error?.code]).toEqual([503, 'BUSY']);
    expect(reads.get('read-refused')).toBeUndefined();
    expect(reads.get('read-holder')).toBe(1);
    expect(reads.get('read-queued')).toBe(1);
    expect((await holder.finish()).status).toBe(200);
    expect((await queued.finish()).status).toBe(200);
  });

  it('an erase that ran while an upload queued refuses it with CONFLICT: nothing stored', async () => {
    const s = counted();
    const holder = await halfUpload(s, 'erase-holder');
    const queued = await halfUpload(s, 'erase-queued');
    await vi.waitFor(() => expect(reads.get('erase-queued')).toBe(1)); // its start: the marker before the erase
    await s.pictures.erase('erase-queued');
    expect((await holder.finish()).status).toBe(200);
    const [putsBefore, filesBefore] = [puts, await s.files()];
    const response = await queued.finish();
    expect([response.status, response.json.error?.code, response.json.error?.details]).toEqual([409, 'CONFLICT', { reason: 'erased' }]);
    expect(await s.pictures.get('erase-queued')).toBeNull();
    expect(puts).toBeGreaterThan(putsBefore); // refused at the commit, after rendering…
    expect(await s.files()).toEqual(filesBefore); // …and what it wrote is gone
  });

  it('a client that hangs up while its record is read is ABORTED at once, not when the read ends; the slot is free', async () => {
    const s = counted();
    const slow = await halfUpload(s, 'read-slow');
    await vi.waitFor(() => expect(reads.get('read-slow')).toBe(1)); // the read has started and hangs
    slow.request.socket.destroy();
    expect((await s.outcome(slow.id)).code).toBe('ABORTED'); // the read is still pending here
    const next = await halfUpload(s, 'after-slow');
    expect((await next.finish()).status).toBe(200);
    releaseSlowRead();
  });

  it('a failed read gives the queue place or the slot back: the next uploads go through', async () => {
    const s = counted();
    const png = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
    for (const attempt of [1, 2, 3]) {
      const broken = await post(s.port, 'read-broken', png, { 'content-type': MULTIPART, 'x-test-id': `read-broken-${attempt}` });
      expect([broken.status, broken.json.error?.code]).toEqual([502, 'STORAGE_FAILED']);
    }
    const holder = await halfUpload(s, 'after-broken');
    const queued = await halfUpload(s, 'after-broken-2');
    expect((await holder.finish()).status).toBe(200);
    expect((await queued.finish()).status).toBe(200);
  });
});

/** Starts an upload for `userId` that declares 100 kB, sends the file part's head, then trickles 4 bytes a second. */
async function trickle(s: IntakeServer, userId: string) {
  const id = `${userId}-${++sequence}`;
  const request = openRequest(s.port, userId, { 'content-type': MULTIPART, 'content-length': 100_000, 'x-test-id': id });
  await request.write(fileHead());
  await s.started(id);
  const timer = setInterval(() => void request.write('a'), 250);
  const stop = () => clearInterval(timer);
  request.response.then(stop, stop);
  return { id, request };
}

const filesOf = (record: PictureRecord) =>
  [...Object.values(record.variants).map((variant) => variant.key), ...(record.master ? [record.master.key] : [])].sort();

describe('uploadRequest: slow bodies', () => {
  // 4 processing slots, the default on a 2-core machine, set here so the test does not depend on the CPU count.
  const slowBodies = useIntakeServer({ concurrency: 4, limits: { bodyTimeout: 10_000 } });

  it('bodies trickling in on every processing slot do not delay an upload whose body is complete; they get 408 and store nothing', async () => {
    const s = slowBodies();
    // Two accounts at their limits.uploadsPerUser (2): four slow bodies, as many as there are processing slots.
    const slow = [];
    for (const userId of ['mallory', 'mallory', 'trudy', 'trudy']) slow.push(await trickle(s, userId));

    const started = performance.now();
    const png = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
    const normal = await post(s.port, 'alice', png, { 'content-type': MULTIPART, 'x-test-id': 'alice' });
    expect(normal.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2_000); // the slow bodies time out only after 10 s
    expect(slow.map(({ request }) => request.answered)).toEqual([false, false, false, false]);
    const record = (await s.pictures.get('alice'))!;
    expect(normal.json.picture).toEqual(record);
    expect(await s.files()).toEqual(filesOf(record));

    for (const { id, request } of slow) {
      const response = await request.response;
      const { status, headers, json } = response;
      expect([status, json.error?.code, headers.connection]).toEqual([408, 'TIMEOUT', 'close']);
      expect((await s.outcome(id)).code).toBe('TIMEOUT');
      request.socket.destroy();
    }
    expect(await s.pictures.get('mallory')).toBeNull();
    expect(await s.pictures.get('trudy')).toBeNull();
    expect(await s.files()).toEqual(filesOf(record));
  });
});

describe('uploadRequest: body slots bound memory', () => {
  const bounded = useIntakeServer({ concurrency: 4, bodyConcurrency: 2, maxQueue: 1 });
  const holding = useGatedServer({ concurrency: 1, bodyConcurrency: 2, maxQueue: 0, limits: { bodyTimeout: 5_000 } });
  const waiting = useGatedServer({ concurrency: 1, bodyConcurrency: 4, maxQueue: 0, limits: { bodyTimeout: 300 } });

  const png = async () => multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
  /** Sends a whole upload body for `id` without waiting for the answer. */
  async function sendWhole(s: IntakeServer, id: string) {
    const body = await png();
    const request = openRequest(s.port, id, { 'content-type': MULTIPART, 'content-length': body.length, 'x-test-id': id });
    await request.write(body);
    return request;
  }

  it('with bodyConcurrency 2 and maxQueue 1, a fourth simultaneous body gets 503 BUSY although processing slots are free', async () => {
    const s = bounded();
    const first = await halfUpload(s, 'body-1');
    const second = await halfUpload(s, 'body-2');
    const queued = await halfUpload(s, 'body-3');
    const filesBefore = await s.files();

    const fourth = await post(s.port, 'body-4', await png(), { 'content-type': MULTIPART, 'x-test-id': 'body-4' });
    expect([fourth.status, fourth.json.error?.code]).toEqual([503, 'BUSY']);
    expect(fourth.headers['retry-after']).toBe(String(BUSY_RETRY_AFTER_SECONDS));
    expect(await s.pictures.get('body-4')).toBeNull();
    expect(await s.files()).toEqual(filesBefore);

    expect((await first.finish()).status).toBe(200);
    expect((await second.finish()).status).toBe(200);
    expect((await queued.finish()).status).toBe(200);
  });

  it('an upload waiting for a processing slot keeps its body slot, even after its client hung up, and is then stored', async () => {
    const s = holding();
    closeGate();
    const processing = await sendWhole(s, 'processing');
    await putReached; // holds the one processing slot (and a body slot)
    const complete = await sendWhole(s, 'complete');
    await s.bodyEnded('complete'); // read to its end: it now waits for the processing slot
    complete.socket.destroy();
    await complete.closed;

    const third = await post(s.port, 'third', await png(), { 'content-type': MULTIPART, 'x-test-id': 'third' });
    expect([third.status, third.json.error?.code]).toEqual([503, 'BUSY']);

    openGate();
    expect((await processing.response).status).toBe(200);
    const outcome = await s.outcome('complete');
    expect(outcome.code).toBeUndefined();
    expect(await s.pictures.get('complete')).toEqual(outcome.record);
    expect(await s.pictures.get('third')).toBeNull();
    processing.socket.destroy();
  });

  it("a wait for a processing slot ends with BUSY after limits.bodyTimeout, or with ABORTED when the caller's signal fires", async () => {
    const s = waiting();
    closeGate();
    const processing = await sendWhole(s, 'slot-holder');
    await putReached;

    const waitStarted = performance.now();
    const timedOut = await sendWhole(s, 'timed-out');
    const refused = await timedOut.response;
    expect([refused.status, refused.json.error?.code]).toEqual([503, 'BUSY']);
    expect(performance.now() - waitStarted).toBeGreaterThanOrEqual(250); // it waited for the slot, ~300 ms
    expect(refused.headers['retry-after']).toBe(String(BUSY_RETRY_AFTER_SECONDS));
    // Refused after its body had been read, so the connection stays usable.
    expect(refused.headers.connection).not.toBe('close');

    const cancelled = await sendWhole(s, 'cancelled');
    await s.bodyEnded('cancelled');
    s.controller('cancelled')!.abort();
    expect((await s.outcome('cancelled')).code).toBe('ABORTED');
    expect((await cancelled.response).status).toBe(499);

    openGate();
    expect((await processing.response).status).toBe(200);
    expect(await s.pictures.get('timed-out')).toBeNull();
    expect(await s.pictures.get('cancelled')).toBeNull();
    // Every slot came back: three arriving bodies and a complete one fill the four body slots, and the complete one
    // gets the processing slot at once.
    const arriving = [];
    for (const userId of ['arriving-1', 'arriving-2', 'arriving-3']) arriving.push(await halfUpload(s, userId));
    expect((await post(s.port, 'last', await png())).status).toBe(200);
    for (const { request } of arriving) request.socket.destroy();
    for (const request of [processing, timedOut, cancelled]) request.socket.destroy();
  });
});
