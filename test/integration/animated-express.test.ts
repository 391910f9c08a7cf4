/**
 * `animated: true` over real HTTP, through the Express adapter: an animated GIF posted as multipart comes back as an
 * animated WebP from the media route, the avatar route's `?still` redirects to its first frame, and a frame bomb is
 * answered 422 with nothing stored.
 */
import http from 'node:http';
import express from 'express';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profilePictureRouter } from '../../adapters/express/index.js';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';
import { gifFrameBomb, TERMINAL_GIF } from '../fixtures/animated.js';
import { listKeys } from '../fixtures/service.js';
import { listen, multipart, request, type StartedApp } from './adapter-suite.js';

describe('animated avatars through Express', () => {
  const storage = memoryStorage();
  const pictures = createProfilePictures({ storage, users: memoryUserRepository(), animated: true });
  let app: StartedApp;

  beforeAll(async () => {
    const server = express();
    server.use(profilePictureRouter(pictures, { getUser: (req: express.Request) => ({ id: String(req.headers['x-test-user']) }) }));
    app = await listen(http.createServer(server), []);
  });
  afterAll(() => app.close());

  const upload = (data: Buffer) => {
    const form = multipart([{ name: 'profile_picture', filename: 'me.gif', type: 'image/gif', data }]);
    return request(app.port, '/upload-profile-picture', {
      method: 'POST',
      headers: { accept: 'application/json', 'x-test-user': 'u1', 'content-type': form.contentType },
      body: form.body,
    });
  };

  it('uploads a GIF, serves the animation and, on ?still, its first frame', async () => {
    const posted = await upload(TERMINAL_GIF.bytes);
    expect(posted.status).toBe(200);
    const picture = (posted.json as { picture: { urls: Record<string, string>; stillUrls: Record<string, string> } }).picture;
    expect(Object.keys(picture.stillUrls)).toEqual(['sm', 'md', 'lg']);

    const animation = await request(app.port, picture.urls.md!);
    expect(animation.status).toBe(200);
    expect(animation.headers['content-type']).toBe('image/webp');
    const meta = await sharp(animation.body).metadata();
    expect(meta).toMatchObject({ width: 256, height: 256, pages: 8, loop: TERMINAL_GIF.loop });
    expect(meta.delay).toEqual(TERMINAL_GIF.delay);

    const avatar = await request(app.port, '/avatar/u1?variant=md&still');
    expect(avatar.status).toBe(302);
    expect(avatar.headers.location).toBe(picture.stillUrls.md);
    const moving = await request(app.port, '/avatar/u1?variant=md');
    expect(moving.headers.location).toBe(picture.urls.md);
    const still = await request(app.port, avatar.headers.location!);
    expect(still.status).toBe(200);
    const stillMeta = await sharp(still.body).metadata();
    expect(stillMeta).toMatchObject({ format: 'webp', width: 256, height: 256 });
    expect(stillMeta.pages ?? 1).toBe(1);
  });

  it('answers a frame bomb with 422 IMAGE_TOO_LARGE and stores nothing', async () => {
    const before = await listKeys(storage);
    const refused = await upload(gifFrameBomb(1000, 1000, 3000));
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ error: { code: 'IMAGE_TOO_LARGE', details: { frames: 3000, limit: 25_000_000 } } });
    expect(await listKeys(storage)).toEqual(before);
  });
});
