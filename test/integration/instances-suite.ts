/**
 * Several app instances, as an app behind a load balancer runs them: separate Node processes (one on Express, one
 * on Koa, on the built package) sharing one storage and one repository. DESIGN invariants 5 and 7: no object is
 * ever referenced by two uploads, and correctness never relies on in-process locks. Each round races requests for
 * one user through both instances and then checks what users would notice: the record points at objects that
 * exist. Afterwards `sweep()`, run in one instance, leaves exactly the referenced objects.
 *
 * Not collected directly (no `.test` suffix): each shared backend (disk + SQLite, S3 + PostgreSQL, …) calls
 * {@link describeInstances} from its own test file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PictureRecord } from '../../src/index.js';
import { distinctImages, solidJpeg } from '../helpers/images.js';
import { startAppProcess, type AppProcess, type AppStorageConfig, type AppUsersConfig } from '../processes/app-process.js';
import { multipart, request, type TestResponse } from './adapter-suite.js';

/** The storage and repository the instances share, and direct views of both from the test process. */
export interface SharedBackend {
  storage: AppStorageConfig;
  users: AppUsersConfig;
  /** Creates what must exist before the instances start, e.g. user rows the repository updates. */
  prepare?(userIds: readonly string[]): Promise<void>;
  recordOf(userId: string): Promise<PictureRecord | null>;
  /** Every stored key under the service's prefix, sorted. */
  storedKeys(): Promise<string[]>;
  exists(key: string): Promise<boolean>;
  close(): Promise<void>;
}

const ROUNDS = 200;
const CROWD = 50;
/** The second request of a race starts up to this much later, so the races land at every point of the first. */
const MAX_OFFSET_MS = 120;
const USERS = ['racer', 'remover', 'crowd', ...Array.from({ length: 12 }, (_, i) => `crash-${i}`)] as const;
/** Room for the crowd test's 50 simultaneous uploads of one user; everything else keeps its default. */
const SERVICE = { limits: { uploadsPerUser: CROWD }, maxQueue: CROWD };

const later = <T>(send: () => Promise<T>) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * MAX_OFFSET_MS)).then(send);
const keysOf = (record: PictureRecord | null) =>
  record ? [...Object.values(record.variants).map((variant) => variant.key), ...(record.master ? [record.master.key] : [])] : [];

/** Runs the multi-instance suite against the backend `open()` starts (once for the file). */
export function describeInstances(name: string, open: () => Promise<SharedBackend>, options: { skip?: string } = {}): void {
  describe.skipIf(Boolean(options.skip))(`two app processes sharing ${name}`, () => {
    let backend: SharedBackend;
    let a: AppProcess;
    let b: AppProcess;

    const start = (adapter: 'express' | 'koa') =>
      startAppProcess({ adapter, storage: backend.storage, users: backend.users, service: SERVICE });

    beforeAll(async () => {
      backend = await open();
      await backend.prepare?.(USERS);
      [a, b] = await Promise.all([start('express'), start('koa')]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await backend?.close();
    });

    /** Keys the user's record references whose object is missing. */
    async function missingObjects(userId: string): Promise<string[]> {
      const keys = keysOf(await backend.recordOf(userId));
      const present = await Promise.all(keys.map((key) => backend.exists(key)));
      return keys.filter((_, i) => !present[i]);
    }

    async function sweepThenExpectOnlyReferenced(through: AppProcess = a): Promise<void> {
      const swept = await request(through.port, '/__sweep?olderThan=0', { method: 'POST' });
      expect(swept.status, swept.text).toBe(200);
      const referenced = (await Promise.all(USERS.map((user) => backend.recordOf(user)))).flatMap(keysOf);
      expect(await backend.storedKeys()).toEqual(referenced.sort());
    }

    it('an upload through one instance is served through the other; a replace there deletes the old objects', async () => {
      const [first, second] = await distinctImages(2, 40);
      const uploaded = await upload(a, 'racer', first!);
      expect(uploaded.status, uploaded.text).toBe(200);
      const urls = Object.values<string>(uploaded.json.picture.urls);
      for (const url of urls) expect((await request(b.port, url)).status).toBe(200);
      const replaced = await upload(b, 'racer', second!);
      expect(replaced.status, replaced.text).toBe(200);
      // The old objects go after the answer, in the background: give the clean-up a moment.
      for (let wait = 0; wait < 40 && (await Promise.all(urls.map((url) => request(a.port, url)))).some((r) => r.status !== 404); wait++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const url of urls) expect((await request(a.port, url)).status).toBe(404);
      expect(await missingObjects('racer')).toEqual([]);
    });

    it(`the same picture uploaded through both at once (a double-click, a retry) never leaves a dangling record: ${ROUNDS} rounds`, async () => {
      // Two pictures in turn, and each round overlaps the next: while one round replaces picture A with B (and its
      // clean-up deletes A's objects), the other uploads A again.
      const pictures = await distinctImages(2, 40);
      const dangling: string[] = [];
      const statuses = new Set<number>();
      const round = (image: Buffer) => Promise.all([upload(a, 'racer', image), later(() => upload(b, 'racer', image))]);
      for (let pair = 0; pair < ROUNDS / 2; pair++) {
        const answers = await Promise.all([round(pictures[0]!), later(() => round(pictures[1]!))]);
        for (const answer of answers.flat()) statuses.add(answer.status);
        dangling.push(...(await missingObjects('racer')));
      }
      expect(dangling).toEqual([]);
      expect([...statuses]).toEqual([200]);
      await sweepThenExpectOnlyReferenced();
    }, 180_000);

    it(`an upload through one instance racing a remove through the other never leaves a dangling record: ${ROUNDS} rounds`, async () => {
      const [picture] = await distinctImages(1, 44);
      const dangling: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // The user uploads their picture again (a retry, the same file chosen twice) while a remove goes through
        // the other instance.
        if (!(await backend.recordOf('remover'))) expect((await upload(a, 'remover', picture!)).status).toBe(200);
        const [uploaded, removed] = await Promise.all([upload(a, 'remover', picture!), later(() => remove(b, 'remover'))]);
        expect([uploaded.status, removed.status], uploaded.text + removed.text + a.output().slice(-3000)).toEqual([200, 200]);
        dangling.push(...(await missingObjects('remover')));
      }
      expect(dangling).toEqual([]);
      await sweepThenExpectOnlyReferenced(b);
    }, 180_000);

    it(`${CROWD} simultaneous uploads for one user over both instances end with one picture whose objects all exist`, async () => {
      const images = await distinctImages(CROWD, 36);
      const answers = await Promise.all(images.map((image, i) => upload(i % 2 === 0 ? a : b, 'crowd', image)));
      const statuses = answers.map((answer) => answer.status);
      // Each instance serialises its own commits; across the two, a compare-and-set may lose five times in a row.
      expect(statuses.every((status) => status === 200 || status === 409), String(statuses)).toBe(true);
      const record = await backend.recordOf('crowd');
      const winners = answers.filter((answer) => answer.status === 200).map((answer) => answer.json.picture.version);
      expect(winners).toContain(record!.version);
      expect(await missingObjects('crowd')).toEqual([]);
      await sweepThenExpectOnlyReferenced(b);
    }, 120_000);

    it('an instance killed (SIGKILL) in the middle of uploads: the other keeps serving, and after sweep() every record is whole', async () => {
      const doomed = await start('koa');
      // Photo-sized, so each upload takes long enough (a decode, three encodes, three writes) to be cut mid-way.
      const images = await Promise.all(Array.from({ length: 12 }, (_, i) => solidJpeg([i * 20, 120, 255 - i * 20], 1600)));
      const users = USERS.filter((user) => user.startsWith('crash-'));
      // Everyone had a picture; half now replace it through the instance about to die, half through a survivor.
      for (const [i, user] of users.entries()) expect((await upload(a, user, images[(i + 6) % 12]!)).status).toBe(200);
      const survivors = users.slice(6).map((user, i) => upload(a, user, images[i]!));
      const cut = users.slice(0, 6).map((user, i) => upload(doomed, user, images[6 + i]!).then((answer) => answer.status, () => 'cut'));
      await new Promise((resolve) => setTimeout(resolve, 60));
      await doomed.stop(); // SIGKILL: writes, commits and clean-ups cut wherever they were
      for (const answer of await Promise.all(survivors)) expect(answer.status).toBe(200);
      expect(await Promise.all(cut)).toContain('cut'); // the kill really landed mid-upload
      for (const user of users) {
        expect(await missingObjects(user), user).toEqual([]);
        const record = await backend.recordOf(user);
        if (record) expect((await request(b.port, `/avatar/${user}`)).status).toBe(302);
      }
      for (const user of users.slice(6)) {
        const avatar = await request(b.port, `/avatar/${user}`);
        expect((await request(b.port, avatar.headers.location!)).status).toBe(200);
      }
      await sweepThenExpectOnlyReferenced(b);
    }, 60_000);
  });
}

function upload(instance: AppProcess, user: string, file: Buffer): Promise<TestResponse> {
  const form = multipart([{ name: 'profile_picture', filename: 'me.png', data: file }]);
  return request(instance.port, '/upload-profile-picture/', {
    method: 'POST',
    headers: { accept: 'application/json', 'x-test-user': user, 'content-type': form.contentType },
    body: form.body,
  });
}

function remove(instance: AppProcess, user: string): Promise<TestResponse> {
  return request(instance.port, '/remove-profile-picture/', { method: 'POST', headers: { accept: 'application/json', 'x-test-user': user } });
}
