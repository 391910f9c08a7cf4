/**
 * Extreme shapes over HTTP, against Express and Koa apps each running in its own process with default options: very
 * tall and very wide images, 1×N, thin crops and crops at the edges of a 36 MP photo. Before the render trimmed
 * regions to 2:1, a 13 KB 16×90000 PNG grew the server to 4.3 GB and aborted it. Each upload must be answered
 * quickly (a loose deadline that catches the blow-up, not a speed target), and afterwards the server must be
 * alive with a peak RSS under 300 MB — with every `position`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fx from '../fixtures/index.js';
import { solidJpeg } from '../helpers/images.js';
import { startAppProcess, type AppProcess } from '../processes/app-process.js';
import { multipart, request, type TestResponse } from './adapter-suite.js';

const MB = 1_000_000;
/** Far above a trimmed render (~0.1–0.5 s), far below the 13–94 s an untrimmed one took. */
const DEADLINE_MS = 3_000;

type Crop = { left: number; top: number; width: number; height: number };

interface Attack {
  label: string;
  file: () => Promise<Buffer>;
  crop?: Crop;
  status: number;
  code?: string;
}

const ATTACKS: Attack[] = [
  { label: '16×90000 PNG', file: () => fx.pngStrip(16, 90_000), status: 200 },
  { label: '16×100000 PNG', file: () => fx.pngStrip(16, 100_000), status: 200 },
  { label: '90000×16 PNG', file: () => fx.pngStrip(90_000, 16), status: 200 },
  { label: '1×60000 PNG', file: () => fx.pngStrip(1, 60_000), status: 422, code: 'IMAGE_TOO_SMALL' },
  { label: '36 MP JPEG, 1 px wide crop', file: fx.jpegQuadrants36Megapixel, crop: { left: 0, top: 0, width: 1, height: 6000 }, status: 400, code: 'INVALID_CROP' },
  { label: '36 MP JPEG, 1 px high crop', file: fx.jpegQuadrants36Megapixel, crop: { left: 0, top: 0, width: 6000, height: 1 }, status: 400, code: 'INVALID_CROP' },
  { label: '36 MP JPEG, 16 px column at the right edge', file: fx.jpegQuadrants36Megapixel, crop: { left: 5984, top: 0, width: 16, height: 6000 }, status: 200 },
  { label: '36 MP JPEG, 16 px row at the bottom edge', file: fx.jpegQuadrants36Megapixel, crop: { left: 0, top: 5984, width: 6000, height: 16 }, status: 200 },
  { label: '36 MP JPEG, 16 px square in the bottom right corner', file: fx.jpegQuadrants36Megapixel, crop: { left: 5984, top: 5984, width: 16, height: 16 }, status: 200 },
];

function upload(port: number, user: string, file: Buffer, crop?: Crop): Promise<TestResponse> {
  const fields = Object.entries(crop ?? {}).map(([side, value]) => ({ name: `crop_${side}`, data: String(value) }));
  const form = multipart([...fields, { name: 'profile_picture', filename: 'me.png', data: file }]);
  return request(port, '/upload-profile-picture/', {
    method: 'POST',
    headers: { accept: 'application/json', 'x-test-user': user, 'content-type': form.contentType },
    body: form.body,
  });
}

/** The response and how long it took; rejects at the deadline instead of waiting for a server that is dying. */
async function timed(send: () => Promise<TestResponse>, deadline = DEADLINE_MS): Promise<{ response: TestResponse; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadline} ms`)), deadline);
  });
  try {
    const response = await Promise.race([send(), late]);
    return { response, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

// 'attention' and 'entropy' choose the square on the bounded intermediate; they must not bring back a big one.
const APPS = [
  ['express', 'centre'],
  ['koa', 'centre'],
  ['express', 'attention'],
  ['koa', 'entropy'],
] as const;

describe.each(APPS)('%s app in its own process, position %s: extreme shapes', (adapter, position) => {
  let dir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pp-shapes-'));
    app = await startAppProcess({ adapter, storage: { kind: 'disk', root: path.join(dir, 'media') }, service: { position } });
    await Promise.all(ATTACKS.map((attack) => attack.file())); // generated here, not inside the timed requests
  });

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(ATTACKS)('$label → $status, answered promptly', async ({ file, crop, status, code }) => {
    const { response } = await timed(async () => upload(app.port, 'attacker', await file(), crop));
    expect(response.status, response.text).toBe(status);
    if (code) expect(response.json.error.code).toBe(code);
    else expect(response.json.picture.variants.lg).toMatchObject({ width: 512, height: 512 });
  });

  it("four 16×20000 strips from two accounts at once do not hold up another user's photo", async () => {
    const strip = await fx.pngStrip(16, 20_000);
    const photo = await solidJpeg([40, 120, 200], 1200);
    const strips = ['a', 'a', 'b', 'b'].map((user) => timed(() => upload(app.port, user, strip)));
    const normal = await timed(() => upload(app.port, 'normal-user', photo));
    expect(normal.response.status).toBe(200);
    for (const { response } of await Promise.all(strips)) expect(response.status).toBe(200);
  });

  it('is still alive afterwards, with a peak RSS under 300 MB', async () => {
    expect(app.exited(), app.output()).toBeNull();
    const { maxRssBytes } = await app.figures();
    expect(maxRssBytes / MB).toBeLessThan(300);
  });
});
