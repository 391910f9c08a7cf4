/**
 * uploadRequest() over real HTTP: what a well-formed upload stores, and how every malformed or unexpected form is
 * refused — with the storage and the user's record exactly as before, and the server still answering afterwards.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GREEN, jpegQuadrants, near, pixelAt, pngGreen, svg, WHITE } from '../fixtures/index.js';
import { BOUNDARY, MULTIPART, multipart, post, useIntakeServer, type IntakeServer } from './intake-helpers.js';

const server = useIntakeServer();

/** Uploads a first picture for `userId`, so failures can prove it stays. */
async function seed(s: IntakeServer, userId: string) {
  const response = await post(s.port, userId, multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]));
  expect(response.status).toBe(200);
  return s.snapshot(userId);
}

/** Sends `body`, expects the refusal, then proves nothing changed and the server still takes a good upload. */
async function expectRefused(
  userId: string,
  body: Buffer | string,
  expected: { status: number; code: string },
  headers: Record<string, string | number> = { 'content-type': MULTIPART },
) {
  const s = server();
  const before = await seed(s, userId);
  const id = `${userId}-${++requests}`;
  const response = await post(s.port, userId, body, { ...headers, 'x-test-id': id });
  expect({ status: response.status, code: response.json.error?.code }).toEqual(expected);
  const outcome = await s.outcome(id);
  expect(outcome.code).toBe(expected.code);
  expect(await s.snapshot(userId)).toEqual(before);
  expect(await s.files()).not.toContainEqual(expect.stringContaining('.tmp-'));
  const next = await post(s.port, `${userId}-next`, multipart([{ name: 'profile_picture', filename: 'b.png', data: await pngGreen() }]));
  expect(next.status).toBe(200);
  return Object.assign(response, { outcome });
}
let requests = 0;

describe('uploadRequest: accepted uploads', () => {
  it('stores the file of a real multipart request and commits the record', async () => {
    const s = server();
    const response = await post(
      s.port,
      'alice',
      multipart([
        { name: 'csrf', data: 'token-value' },
        { name: 'profile_picture', filename: 'me.png', contentType: 'image/png', data: await pngGreen() },
      ]),
    );
    expect(response.status).toBe(200);
    const record = await s.pictures.get('alice');
    expect(record).toEqual(response.json.picture);
    const md = await readFile(path.join(s.root, record!.variants.md!.key));
    expect(near(await pixelAt(md, 32, 32), GREEN)).toBe(true);
    expect(await s.files()).not.toContainEqual(expect.stringContaining('.tmp-'));
  });

  it('applies the crop fields, sent before or after the file', async () => {
    const s = server();
    const quadrants = await jpegQuadrants(); // 300×300: red, green / blue, white
    const crop = (left: number, top: number) => [
      { name: 'crop_left', data: String(left) },
      { name: 'crop_top', data: String(top) },
      { name: 'crop_width', data: '150' },
      { name: 'crop_height', data: '150' },
    ];
    const file = { name: 'profile_picture', filename: 'q.jpg', data: quadrants };

    const topRight = await post(s.port, 'cropper', multipart([...crop(150, 0), file]));
    expect(topRight.status).toBe(200);
    const green = await readFile(path.join(s.root, topRight.json.picture!.variants.md!.key));
    expect(near(await pixelAt(green, 5, 5), GREEN)).toBe(true);
    expect(near(await pixelAt(green, 58, 58), GREEN)).toBe(true);

    const bottomRight = await post(s.port, 'cropper', multipart([file, ...crop(150, 150)]));
    expect(bottomRight.status).toBe(200);
    const white = await readFile(path.join(s.root, bottomRight.json.picture!.variants.md!.key));
    expect(near(await pixelAt(white, 5, 5), WHITE)).toBe(true);
  });

  it('treats four empty crop fields (hidden inputs never filled) as no crop', async () => {
    const s = server();
    const empty = ['crop_left', 'crop_top', 'crop_width', 'crop_height'].map((name) => ({ name, data: '' }));
    const response = await post(
      s.port,
      'no-crop',
      multipart([...empty, { name: 'profile_picture', filename: 'q.jpg', data: await jpegQuadrants() }]),
    );
    expect(response.status).toBe(200);
    const md = await readFile(path.join(s.root, response.json.picture!.variants.md!.key));
    // Uncropped, the four quadrants are all there.
    expect(near(await pixelAt(md, 58, 58), WHITE)).toBe(true);
    expect(near(await pixelAt(md, 58, 5), GREEN)).toBe(true);
  });

  it('ignores the client filename and part Content-Type, and other fields whatever their names', async () => {
    const s = server();
    const response = await post(
      s.port,
      'named',
      multipart([
        { name: '__proto__', data: '{"polluted":true}' },
        { name: 'constructor', data: 'x' },
        { name: 'profile_picture', filename: '../../evil.html', contentType: 'text/html', data: await pngGreen() },
      ]),
    );
    expect(response.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await s.files()).join('\n')).not.toMatch(/evil|html|\.\./);
  });

  it('judges the bytes, not the declared type: SVG sent as image/png is refused', async () => {
    await expectRefused(
      'svg-as-png',
      multipart([{ name: 'profile_picture', filename: 'x.png', contentType: 'image/png', data: svg() }]),
      { status: 415, code: 'UNSUPPORTED_TYPE' },
    );
  });
});

describe('uploadRequest: request objects', () => {
  it('reads any Readable with headers, not only an IncomingMessage', async () => {
    const s = server();
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
    const halves = [body.subarray(0, 100), body.subarray(100)];
    const request = Object.assign(Readable.from(halves, { objectMode: false }), { headers: { 'content-type': MULTIPART } });
    const record = await s.pictures.uploadRequest('plain-stream', request);
    expect(await s.pictures.get('plain-stream')).toEqual(record);
  });

  it('stores the same picture when a request object declares a Content-Length shorter or longer than its body', async () => {
    const s = server();
    const body = multipart([{ name: 'profile_picture', filename: 'q.jpg', data: await jpegQuadrants() }]);
    const pieces = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) => body.subarray(i * 1000, (i + 1) * 1000));
    const send = (userId: string, declared: number) =>
      s.pictures.uploadRequest(
        userId,
        Object.assign(Readable.from(pieces, { objectMode: false }), {
          headers: { 'content-type': MULTIPART, 'content-length': String(declared) },
        }),
      );
    const exact = await send('declared-exact', body.length);
    for (const [userId, declared] of [['declared-short', 1500], ['declared-long', body.length + 5000]] as const) {
      const record = await send(userId, declared);
      // Same bytes in, same encodes out: one lost or reordered chunk would change the pixels and so the hash.
      expect(record.contentHash).toBe(exact.contentHash);
      const md = await readFile(path.join(s.root, record.variants.md!.key));
      expect(near(await pixelAt(md, 5, 5), [255, 0, 0])).toBe(true);
    }
  });

  it('refuses a body another middleware already consumed, instead of waiting for it', async () => {
    const s = server();
    const request = Object.assign(Readable.from([], { objectMode: false }), { headers: { 'content-type': MULTIPART } });
    request.resume();
    await new Promise((resolve) => request.once('end', resolve));
    await expect(s.pictures.uploadRequest('consumed', request)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      details: { reason: 'body-already-read' },
    });
  });
});

describe('uploadRequest: content type', () => {
  it('415 NOT_MULTIPART for JSON, urlencoded or a missing Content-Type', async () => {
    await expectRefused('json', '{"a":1}', { status: 415, code: 'NOT_MULTIPART' }, { 'content-type': 'application/json' });
    await expectRefused('urlenc', 'a=1', { status: 415, code: 'NOT_MULTIPART' }, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    await expectRefused('no-type', 'x', { status: 415, code: 'NOT_MULTIPART' }, {});
  });

  it('400 BAD_REQUEST for a missing, empty, over-long, repeated or malformed boundary', async () => {
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }]);
    for (const contentType of [
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=""',
      `multipart/form-data; boundary=${'b'.repeat(71)}`,
      `multipart/form-data; boundary=${BOUNDARY}; boundary=other`,
      `multipart/form-data; charset="utf-8; boundary=x"; boundary=${'b'.repeat(5000)}`,
      'multipart/form-data; boundary="unterminated',
      'multipart/form-data; boundary=a{b}',
    ]) {
      const response = await expectRefused('boundary', body, { status: 400, code: 'BAD_REQUEST' }, { 'content-type': contentType });
      expect(response.json.error?.details).toEqual({ reason: 'boundary' });
    }
  });

  it('accepts a quoted boundary of exactly 70 characters', async () => {
    const s = server();
    const boundary = `${'x'.repeat(60)}'()+_,-./`; // 70 bchars
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await pngGreen() }], boundary);
    const response = await post(s.port, 'quoted', body, { 'content-type': `Multipart/Form-Data; boundary="${boundary}"` });
    expect(response.status).toBe(200);
  });
});

describe('uploadRequest: the file part', () => {
  it('400 NO_FILE without a file part, or with an empty file (a form posted with nothing chosen)', async () => {
    await expectRefused('fields-only', multipart([{ name: 'note', data: 'hi' }]), { status: 400, code: 'NO_FILE' });
    await expectRefused(
      'empty-file',
      multipart([{ name: 'profile_picture', filename: '', contentType: 'application/octet-stream', data: '' }]),
      { status: 400, code: 'NO_FILE' },
    );
    await expectRefused('as-text', multipart([{ name: 'profile_picture', data: 'not a file' }]), {
      status: 400,
      code: 'NO_FILE',
    });
    await expectRefused('no-parts', `--${BOUNDARY}--\r\n`, { status: 400, code: 'NO_FILE' });
  });

  it('400 TOO_MANY_FILES for two file parts', async () => {
    const png = await pngGreen();
    await expectRefused(
      'two-files',
      multipart([
        { name: 'profile_picture', filename: 'a.png', data: png },
        { name: 'profile_picture', filename: 'b.png', data: png },
      ]),
      { status: 400, code: 'TOO_MANY_FILES' },
    );
  });

  it('400 UNEXPECTED_FIELD for a file in another field', async () => {
    const response = await expectRefused(
      'wrong-field',
      multipart([{ name: 'avatar', filename: 'a.png', data: await pngGreen() }]),
      { status: 400, code: 'UNEXPECTED_FIELD' },
    );
    expect(response.json.error?.details).toEqual({ expected: 'profile_picture' });
  });

  it('400 INVALID_CROP for an incomplete, repeated or non-integer crop', async () => {
    const file = { name: 'profile_picture', filename: 'q.jpg', data: await jpegQuadrants() };
    const fields = (values: [string, string][]) => values.map(([name, data]) => ({ name, data }));
    const full = (width: string): [string, string][] => [
      ['crop_left', '0'],
      ['crop_top', '0'],
      ['crop_width', width],
      ['crop_height', '10'],
    ];
    const cases: { parts: ReturnType<typeof fields>; reason: string }[] = [
      { parts: fields([['crop_left', '0'], ['crop_top', '0']]), reason: 'incomplete' },
      { parts: fields([...full('10'), ['crop_left', '5']]), reason: 'repeated' },
      ...['1.5', '-3', '1e3', ' 10', '0x10', '1234567890', 'x'.repeat(3000)].map((width) => ({
        parts: fields(full(width)),
        reason: 'not-an-integer',
      })),
    ];
    for (const { parts, reason } of cases) {
      const response = await expectRefused('crop', multipart([...parts, file]), { status: 400, code: 'INVALID_CROP' });
      expect(response.json.error?.details?.reason).toBe(reason);
    }
    // In range as integers but outside the image: the renderer refuses it.
    await expectRefused('crop-outside', multipart([...fields(full('301')), file]), { status: 400, code: 'INVALID_CROP' });
  });
});

describe('uploadRequest: malformed multipart never crashes or hangs', () => {
  const png = () => pngGreen();
  const head = (name = 'profile_picture') =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="a.png"\r\n\r\n`;

  it('400 for a body using another boundary than declared', async () => {
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await png() }], 'some-other-boundary');
    await expectRefused('other-boundary', body, { status: 400, code: 'BAD_REQUEST' });
  });

  it('400 for a body longer than its Content-Length: the upload ends where the length says', async () => {
    const s = server();
    const before = await seed(s, 'longer-than-declared');
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await png() }]);
    const declared = body.length - 60;
    const id = `longer-than-declared-${++requests}`;
    const response = await post(s.port, 'longer-than-declared', body, {
      'content-type': MULTIPART,
      'content-length': declared,
      'x-test-id': id,
    });
    // The bytes past the declared length are a malformed next request to Node's parser, which may answer (its own,
    // non-JSON 400) before the upload does; the upload itself saw a body cut before its closing boundary.
    expect(response.status).toBe(400);
    const outcome = await s.outcome(id);
    expect(outcome.code).toBe('BAD_REQUEST');
    expect(await s.snapshot('longer-than-declared')).toEqual(before);
    expect(await s.files()).not.toContainEqual(expect.stringContaining('.tmp-'));
  });

  it('400 for a body truncated before the closing boundary', async () => {
    const body = multipart([{ name: 'profile_picture', filename: 'a.png', data: await png() }]);
    await expectRefused('truncated', body.subarray(0, body.length - 60), { status: 400, code: 'BAD_REQUEST' });
    await expectRefused('only-head', head(), { status: 400, code: 'BAD_REQUEST' });
  });

  it('400 for a part header line starting with a space (CVE-2022-24434 bytes)', async () => {
    const body = `--${BOUNDARY}\r\n Content-Disposition: form-data; name="profile_picture"; filename="a.png"\r\n\r\nxx\r\n--${BOUNDARY}--\r\n`;
    await expectRefused('cve', body, { status: 400, code: 'BAD_REQUEST' });
  });

  it('400 for a part header over 16 KiB (header flood), even with a valid file after it', async () => {
    const flood = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\nX-Flood: ${'a'.repeat(17 * 1024)}\r\n\r\nv\r\n`;
    const body = Buffer.concat([Buffer.from(flood), multipart([{ name: 'profile_picture', filename: 'a.png', data: await png() }])]);
    await expectRefused('header-flood', body, { status: 400, code: 'BAD_REQUEST' });
  });

  it('400 for a header followed directly by the closing boundary (busboy emits two errors)', async () => {
    const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="profile_picture"; filename="a.png"\r\n--${BOUNDARY}--\r\n`;
    await expectRefused('two-errors', body, { status: 400, code: 'BAD_REQUEST' });
  });

  it('400 for a flood of parts without Content-Disposition', async () => {
    const body = `--${BOUNDARY}\r\nX-Nothing: 1\r\n\r\nv\r\n`.repeat(500) + `--${BOUNDARY}--\r\n`;
    const response = await expectRefused('parts', body, { status: 400, code: 'BAD_REQUEST' });
    expect(response.json.error?.details).toEqual({ reason: 'too-many-parts' });
  });

  it('400 quickly for 20,000 tiny fields, after reading a fraction of the body', async () => {
    const body = `--b\r\nContent-Disposition: form-data; name="f"\r\n\r\n1\r\n`.repeat(20_000) + '--b--\r\n';
    // Under the declared-length limit (1 MiB + envelope), so the fields limit must be what stops it.
    expect(body.length).toBeLessThan(1024 * 1024 + 64 * 1024);
    const response = await expectRefused('fields', body, { status: 400, code: 'BAD_REQUEST' }, {
      'content-type': 'multipart/form-data; boundary=b',
    });
    expect(response.json.error?.details).toEqual({ reason: 'too-many-fields' });
    expect(response.outcome.bytesRead).toBeLessThan(body.length / 2);
  });
});
