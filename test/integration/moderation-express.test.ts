/**
 * The `moderate` hook behind the Express router over real HTTP: allow, reject (JSON body and the HTML form's 303
 * with `onResult` seeing the reason) and a throwing hook (502), each checked against what storage holds; and a hook
 * that waits does not hold the processing slot another user's upload needs.
 */
import http from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { profilePictureRouter } from '../../adapters/express/index.js';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type ModerateHook,
  type ProfilePictureError,
} from '../../src/index.js';
import { listKeys } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';
import { listen, multipart, parseTestUser, request, type StartedApp } from './adapter-suite.js';

const [first, second, third] = await distinctImages(3, 300);
const JSON_CLIENT = { accept: 'application/json' };
const FORM_POST = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'same-origin',
};

let app: StartedApp | undefined;
afterEach(() => app?.close());

async function start(hook: ModerateHook, options: Record<string, unknown> = {}) {
  const storage = memoryStorage();
  const users = memoryUserRepository();
  let judging = false;
  const pictures = createProfilePictures({
    storage,
    users,
    ...options,
    moderate: (request) => (judging ? hook(request) : 'allow'),
  });
  const results: Array<{ error?: ProfilePictureError }> = [];
  const serverErrors: unknown[] = [];
  const server = express();
  server.use((req, _res, next) => {
    (req as { user?: unknown }).user = parseTestUser(req.headers['x-test-user']);
    next();
  });
  server.use(
    profilePictureRouter(pictures, {
      getUser: (req) => (req as { user?: { id: string } | null }).user ?? null,
      onResult: (event) => void results.push(event),
      onServerError: (error) => void serverErrors.push(error),
    }),
  );
  app = await listen(http.createServer(server), []);
  const upload = (user: string, image: Buffer, headers: Record<string, string> = JSON_CLIENT) => {
    const form = multipart([{ name: 'profile_picture', filename: 'me.png', type: 'image/png', data: image }]);
    return request(app!.port, '/upload-profile-picture/', {
      method: 'POST',
      headers: { ...headers, 'content-type': form.contentType, 'x-test-user': user, origin: app!.base },
      body: form.body,
    });
  };
  // The current picture the refused uploads must leave alone.
  const current = await upload('7', first!);
  expect(current.status).toBe(200);
  judging = true;
  const snapshot = async () => ({ record: await pictures.get('7'), keys: await listKeys(storage) });
  return { pictures, storage, upload, results, serverErrors, before: await snapshot(), snapshot };
}

describe('moderate through the Express router', () => {
  it('allow: 200 with the new picture', async () => {
    const { upload, before, snapshot } = await start(() => 'allow');
    const res = await upload('7', second!);
    expect(res.status).toBe(200);
    const after = await snapshot();
    expect(res.json.picture.version).toBe(after.record!.version);
    expect(after.record!.version).not.toBe(before.record!.version);
  });

  it('reject: 422 JSON with the reason, storage and current picture unchanged', async () => {
    const { pictures, upload, before, snapshot } = await start(() => ({ reject: 'Faces only, please.' }));
    const res = await upload('7', second!);
    expect(res.status).toBe(422);
    expect(res.json).toEqual({
      error: { code: 'REJECTED', message: 'This picture was not accepted: Faces only, please.', details: { reason: 'Faces only, please.' } },
    });
    await pictures.flush();
    expect(await snapshot()).toEqual(before);
  });

  it('reject from an HTML form: 303 with profile_picture_error=REJECTED, onResult gets the reason', async () => {
    const { pictures, upload, results, before, snapshot } = await start(() => ({ reject: 'Faces only, please.' }));
    const res = await upload('7', second!, FORM_POST);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/profile/?profile_picture_error=REJECTED');
    expect(results.at(-1)?.error).toMatchObject({ code: 'REJECTED', details: { reason: 'Faces only, please.' } });
    expect(results.at(-1)?.error?.message).toBe('This picture was not accepted: Faces only, please.');
    await pictures.flush();
    expect(await snapshot()).toEqual(before);
  });

  it('a throwing hook: 502 MODERATION_FAILED without internals, storage unchanged', async () => {
    const { pictures, upload, serverErrors, before, snapshot } = await start(() => {
      throw new Error('secret internal detail');
    });
    const res = await upload('7', second!);
    expect(res.status).toBe(502);
    expect(res.json).toEqual({ error: { code: 'MODERATION_FAILED', message: 'The picture could not be checked; try again later.' } });
    expect(res.text).not.toContain('secret');
    // The operator learns why, the client does not.
    expect(serverErrors).toEqual([expect.objectContaining({ code: 'MODERATION_FAILED', cause: new Error('secret internal detail') })]);
    await pictures.flush();
    expect(await snapshot()).toEqual(before);
  });

  it('a hook that waits gives its processing slot back: another user uploads meanwhile', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let entered!: () => void;
    const inHook = new Promise<void>((resolve) => (entered = resolve));
    const { upload } = await start(
      async ({ userId }) => {
        if (userId === '7') {
          entered();
          await gate;
        }
        return 'allow' as const;
      },
      // One processing slot, and a short wait for it: were the slot held by the waiting hook, user 8 would get 503.
      { concurrency: 1, limits: { bodyTimeout: 3_000 } },
    );
    const waiting = upload('7', second!);
    await inHook; // user 7's upload took the only processing slot and now waits in its hook
    const other = await upload('8', third!);
    expect(other.status).toBe(200);
    open();
    expect((await waiting).status).toBe(200);
  });
});
