/**
 * uploadRequest() under load: a bounded number of bodies are received at once and a bounded number of uploads are
 * processed at once; a bounded number wait, the rest get 503 BUSY with Retry-After — and slots and queue places are
 * given back on every path.
 *
 * Uploads are held "in flight" deterministically by sending the head and part of the body and then pausing: a
 * body slot is taken before the body is read, so a half-sent upload occupies it until its body completes.
 */
import { describe, expect, it } from 'vitest';
import { pngGreen } from '../fixtures/index.js';
import { BUSY_RETRY_AFTER_SECONDS } from '../../src/intake/upload-request.js';
import { MULTIPART, multipart, openRequest, post, useIntakeServer, type IntakeServer } from './intake-helpers.js';

const server = useIntakeServer({ concurrency: 1, bodyConcurrency: 1, maxQueue: 1 });
const perUser = useIntakeServer({ concurrency: 4, maxQueue: 4, limits: { uploadsPerUser: 1 } });

/** Storage whose `put` waits until `open()`: an upload then holds its processing slot (and its body slot). */
let openGate!: () => void;
let gate = Promise.resolve();
const closeGate = () => (gate = new Promise<void>((resolve) => (openGate = resolve)));
const gated = useIntakeServer({
  concurrency: 1,
  bodyConcurrency: 1,
  maxQueue: 1,
  limits: { bodyTimeout: 300 },
  wrapStorage: (storage) => ({ ...storage, put: async (...args) => (await gate, storage.put(...args)) }),
});

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
