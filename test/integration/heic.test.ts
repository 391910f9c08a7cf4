/**
 * iPhone photos (HEVC-coded HEIC) that this sharp cannot decode are refused with 415 UNSUPPORTED_TYPE, `format:
 * 'heic'` and a message that says how to get a JPEG, whether or not the app opted into `heif` — never as a corrupt
 * image — over HTTP (Express) and through `pictures.upload()`, leaving storage and the current picture alone.
 * AVIF (AV1 in HEIF) keeps decoding when accepted.
 */
import http from 'node:http';
import express from 'express';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { profilePictureRouter } from '../../adapters/express/index.js';
import type { InputFormat } from '../../src/index.js';
import * as fx from '../fixtures/index.js';
import { createTestService, rejectionOf, serviceWithPicture } from '../fixtures/service.js';
import { listen, multipart, request } from './adapter-suite.js';

const HEIC_MESSAGE =
  'HEIC photos (the iPhone default) cannot be read here; choose a JPEG, or set the iPhone camera to "Most Compatible" (Settings → Camera → Formats).';

/** Whether the default and the opt-in allowlists both end in the same refusal. */
const ALLOWLISTS: Array<[string, InputFormat[] | undefined]> = [
  ['default accept', undefined],
  ["accept with 'heif' and 'avif'", ['jpeg', 'png', 'webp', 'avif', 'heif']],
];

it('the fixture is a real HEVC HEIC that this sharp reads the header of but cannot decode', async () => {
  const meta = await sharp(fx.heic()).metadata();
  expect([meta.format, meta.compression, meta.width, meta.height]).toEqual(['heif', 'hevc', 96, 64]);
  await expect(sharp(fx.heic()).raw().toBuffer()).rejects.toThrow(/HEVC/);
});

describe.each(ALLOWLISTS)('%s', (_name, accept) => {
  it('pictures.upload(): 415 UNSUPPORTED_TYPE, format heic, the fix in the message; nothing changes', async () => {
    const { pictures, unchanged } = await serviceWithPicture(accept ? { accept } : {});
    const error = await rejectionOf(pictures.upload('u1', fx.heic()));
    expect({ code: error.code, status: error.status, expose: error.expose }).toEqual({
      code: 'UNSUPPORTED_TYPE',
      status: 415,
      expose: true,
    });
    expect(error.details).toMatchObject({ format: 'heic', detected: 'image/heic' });
    expect(error.message).toBe(HEIC_MESSAGE);
    await unchanged();
  });

  it('Express: the same 415 JSON body; nothing changes', async () => {
    const { pictures, unchanged } = await serviceWithPicture(accept ? { accept } : {});
    const app = express();
    app.use(profilePictureRouter(pictures, { getUser: () => ({ id: 'u1' }) }));
    const server = await listen(http.createServer(app), []);
    try {
      const form = multipart([{ name: 'profile_picture', filename: 'IMG_0001.HEIC', type: 'image/heic', data: fx.heic() }]);
      const res = await request(server.port, '/upload-profile-picture/', {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': form.contentType },
        body: form.body,
      });
      expect(res.status).toBe(415);
      expect(res.json.error).toMatchObject({
        code: 'UNSUPPORTED_TYPE',
        message: HEIC_MESSAGE,
        details: { format: 'heic', detected: 'image/heic' },
      });
      await unchanged();
    } finally {
      await server.close();
    }
  });
});

it('AVIF still uploads when accepted (AV1 in HEIF decodes)', async () => {
  const { pictures } = createTestService({ accept: ['jpeg', 'avif', 'heif'] });
  const record = await pictures.upload('u1', await fx.avifSmall());
  expect(record).not.toBeNull();
  expect(await pictures.get('u1')).toEqual(record);
});
