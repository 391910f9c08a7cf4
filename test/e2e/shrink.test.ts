/// <reference lib="dom" />
/**
 * Shrinking in the browser before uploading, in Chromium, against the library's own endpoint (the web-standard
 * handler on a real HTTP server, memory storage, default options: 5 MiB limit, variants up to 512 px, so
 * `clientMaxSide` 2048). The server records every request body it receives, so the tests see exactly what the
 * widget sent: a 12 MP phone photo over the limit now uploads (shrunk, upright), a PNG with transparency keeps it,
 * a file within the limits is sent byte for byte, and `no-shrink` still refuses the large photo before sending it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRequestHandler } from '../../adapters/web/index.js';
import { clientConfig, createProfilePictures, memoryStorage, memoryUserRepository, type ProfilePictures } from '../../src/index.js';
import {
  clearScreenshots,
  collectPageErrors,
  hasChromium,
  interceptFileChoosers,
  launchChromium,
  loadedImageWidth,
  screenshot,
} from './browser.js';
import { phonePhoto, type PhonePhoto } from './photos.js';

const CLIENT = join(import.meta.dirname, '..', '..', 'dist', 'client.js');
const WIDGET = 'profile-picture-upload';
const LIMIT = 5 * 1024 * 1024;
const USER = 'u1';

describe.skipIf(!hasChromium)('shrinking before upload, in Chromium', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  let tab: Page;
  let errors: string[];
  let pictures: ProfilePictures;
  let received: Buffer[];
  let photo: PhonePhoto;
  let attributes = '';
  let dir: string;

  beforeAll(async () => {
    const storage = memoryStorage();
    pictures = createProfilePictures({ storage, users: memoryUserRepository() });
    const handle = createRequestHandler(pictures, { getUser: () => ({ id: USER }) });
    const client = await readFile(CLIENT);
    server = createServer(async (req, res) => {
      if (req.url === '/client.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(client);
      if (req.url === '/page') {
        const config = JSON.stringify(clientConfig(pictures.options));
        return void res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shrink</title>
<script type="module" src="/client.js"></script></head><body><main style="max-width:34rem;margin:2rem auto;font:16px system-ui">
<form method="post" action="/upload-profile-picture/" enctype="multipart/form-data">
<${WIDGET} config='${config}' ${attributes}></${WIDGET}></form>
<p>Stored <code>lg</code> variant: <img id="avatar" alt="" width="160" height="160" style="vertical-align:middle;background:repeating-conic-gradient(#ccc 0 25%,#fff 0 50%) 0 0/20px 20px"></p>
<script type="module">document.addEventListener('profile-picture:uploaded', (e) => { avatar.src = e.detail.picture.urls.lg; });</script>
</main></body></html>`,
        );
      }
      // Everything else goes to the library, after recording the body (small here: the limit is 5 MiB).
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') received.push(body);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const request = new Request(`${url}${req.url}`, { method: req.method, headers, ...(req.method === 'POST' && { body }) });
      const response = (await handle(request)) ?? new Response('not found', { status: 404 });
      response.headers.forEach((value, name) => res.setHeader(name, value));
      res.writeHead(response.status).end(Buffer.from(await response.arrayBuffer()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    [browser, photo, dir] = await Promise.all([
      launchChromium(),
      phonePhoto(),
      mkdtemp(join(tmpdir(), 'pp-e2e-shrink-')),
      clearScreenshots('shrink'),
    ]);
    console.log(`[e2e] shrink: ${photo.source}, ${photo.bytes.length} bytes`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    received = [];
    attributes = '';
    await pictures.remove(USER);
    tab = await browser.newPage({ viewport: { width: 720, height: 420 } });
    interceptFileChoosers(tab);
    errors = collectPageErrors(tab);
    return async () => {
      expect(errors).toEqual([]);
      await tab.close();
    };
  });

  const open = async () => {
    await tab.goto(`${url}/page`);
    await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
  };
  /** Chooses `buffer` as a file named `name`, from disk: Chromium then reads it itself, however large. */
  const choose = async (name: string, buffer: Buffer) => {
    const file = join(dir, name);
    await writeFile(file, buffer);
    const [chooser] = await Promise.all([tab.waitForEvent('filechooser'), tab.locator(`${WIDGET} .zone`).click()]);
    await chooser.setFiles(file);
  };
  const state = (value: string, timeout = 60_000) =>
    tab.locator(`${WIDGET}[state="${value}"]`).waitFor({ state: 'attached', timeout });
  /** The stored variant `name` of the user's picture, as raw RGBA pixels. */
  const storedVariant = async (name: string) => {
    const record = await pictures.get(USER);
    const object = await pictures.options.storage.get(record!.variants[name]!.key);
    const chunks: Buffer[] = [];
    for await (const chunk of object!.body as Readable) chunks.push(chunk as Buffer);
    return sharp(Buffer.concat(chunks)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  };
  /** What sharp makes of the original for variant side `side` (upright, cover-cropped), as raw RGBA pixels. */
  const expectedVariant = (original: Buffer, side: number) =>
    sharp(original).rotate().resize(side, side, { fit: 'cover' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  /** Mean absolute difference per channel value, 0–255. */
  const meanDiff = (a: Buffer, b: Buffer) => {
    expect(a.length).toBe(b.length);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
    return sum / a.length;
  };
  /**
   * {@link meanDiff} of RGBA pixels as they look when composited (colour × alpha): a canvas stores colour
   * premultiplied, so the colour of a fully transparent pixel is lost, and nobody can see it.
   */
  const meanDiffComposited = (a: Buffer, b: Buffer) => meanDiff(premultiply(a), premultiply(b));
  const premultiply = (rgba: Buffer) => {
    const out = Buffer.alloc(rgba.length);
    for (let i = 0; i < rgba.length; i += 4) {
      for (let c = 0; c < 3; c++) out[i + c] = Math.round((rgba[i + c]! * rgba[i + 3]!) / 255);
      out[i + 3] = rgba[i + 3]!;
    }
    return out;
  };
  /** The Content-Type of the file part in a recorded multipart body. */
  const partType = (body: Buffer) => /filename="[^"]*"\r\nContent-Type: ([^\r]+)/.exec(body.toString('latin1'))?.[1];

  it('uploads a 6 MB 12 MP phone photo that the 5 MiB limit used to refuse, shrunk and upright', async () => {
    expect(photo.bytes.length).toBeGreaterThan(LIMIT);
    await open();
    await screenshot(tab, 'shrink-1-idle');
    await choose('IMG_0001.jpg', photo.bytes);
    await state('selected');
    expect(await tab.locator(`${WIDGET} .error`).textContent()).toBe('');
    expect(await tab.locator(`${WIDGET} .status`).textContent()).toBe(
      'IMG_0001.jpg (6.1 MiB) is ready to upload. It will be made smaller than 5 MiB before uploading.',
    );
    await screenshot(tab, 'shrink-2-selected');
    // Slow the page down so the preparing and uploading states last long enough to be seen in screenshots.
    const cdp = await tab.context().newCDPSession(tab);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 20,
      downloadThroughput: 10_000_000 / 8,
      uploadThroughput: 2_000_000 / 8,
    });
    await tab.locator(`${WIDGET} .upload`).click();
    await state('preparing');
    // Announced politely (role=status) and on the indeterminate progress bar.
    expect(await tab.locator(`${WIDGET} .status`).textContent()).toBe('Preparing photo…');
    expect(await tab.locator(`${WIDGET} progress`).getAttribute('aria-label')).toBe('Preparing photo…');
    expect(await tab.locator(`${WIDGET} progress`).getAttribute('value')).toBeNull();
    await screenshot(tab, 'shrink-3-preparing');
    await state('uploading');
    await screenshot(tab, 'shrink-4-uploading');
    await state('done');
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await loadedImageWidth(tab, '#avatar');
    await screenshot(tab, 'shrink-5-done');

    expect(received).toHaveLength(1);
    const sent = received[0]!;
    expect(sent.length).toBeLessThan(LIMIT / 2);
    expect(partType(sent)).toBe('image/jpeg');
    expect(sent.toString('latin1')).toContain('filename="IMG_0001.jpg"');
    // Upright: the stored variant matches sharp's render of the original (which honours EXIF orientation 6) …
    const [stored, expected] = await Promise.all([storedVariant('lg'), expectedVariant(photo.bytes, 512)]);
    expect(stored.info).toMatchObject({ width: 512, height: 512 });
    const diff = meanDiff(stored.data, expected.data);
    expect(diff).toBeLessThan(4);
    // … and not the sideways sensor pixels, which the same measure tells apart.
    const sideways = await sharp(photo.bytes).resize(512, 512, { fit: 'cover' }).ensureAlpha().raw().toBuffer();
    expect(meanDiff(stored.data, sideways)).toBeGreaterThan(diff * 4);
  }, 120_000);

  it('keeps the transparency of a large PNG (re-encoded as WebP, not JPEG on black)', async () => {
    const width = 3000;
    const height = 2000;
    const rgb = await sharp(photo.bytes).rotate().resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    const alpha = Buffer.alloc(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const r = Math.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2));
        alpha[y * width + x] = Math.max(0, Math.min(255, Math.round(510 * (1 - r)))); // opaque centre, clear edges
      }
    }
    const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
      .joinChannel(alpha, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer();
    await open();
    await choose('cut-out.png', png);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    await loadedImageWidth(tab, '#avatar');
    await screenshot(tab, 'shrink-6-png-alpha-done');

    expect(partType(received[0]!)).toBe('image/webp');
    const [stored, expected] = await Promise.all([storedVariant('lg'), expectedVariant(png, 512)]);
    // The corners stay transparent, the centre opaque, and the picture (alpha included) matches sharp's render.
    expect(expected.data[3]).toBe(0);
    expect(stored.data[3]).toBe(0);
    expect(stored.data[(256 * 512 + 256) * 4 + 3]).toBe(255);
    expect(meanDiffComposited(stored.data, expected.data)).toBeLessThan(4);
  }, 120_000);

  it('sends a file within both limits untouched, byte for byte', async () => {
    const small = await sharp(photo.bytes).rotate().resize(1200).keepExif().jpeg({ quality: 90 }).toBuffer(); // 1200×1600
    await open();
    await choose('small.jpg', small);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(received).toHaveLength(1);
    expect(received[0]!.indexOf(small)).toBeGreaterThan(0);
    expect(partType(received[0]!)).toBe('image/jpeg');
  }, 60_000);

  it('scales a photo within the size limit but longer than clientMaxSide down to it, upright, without EXIF', async () => {
    const q85 = await sharp(photo.bytes).keepExif().keepIccProfile().jpeg({ quality: 85 }).toBuffer(); // still 4032×3024, orientation 6
    expect(q85.length).toBeLessThan(LIMIT);
    await open();
    await choose('IMG_0002.jpg', q85);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    const body = received[0]!;
    const start = body.indexOf('\r\n\r\n', body.indexOf('filename=')) + 4;
    const sent = await sharp(body.subarray(start, body.lastIndexOf('\r\n--'))).metadata();
    expect(sent).toMatchObject({ format: 'jpeg', width: 1536, height: 2048 });
    expect(sent.orientation).toBeUndefined();
  }, 60_000);

  it('with a crop (upright source pixels), keeps only the cropped part: the crop sent is the whole new image', async () => {
    const q85 = await sharp(photo.bytes).keepExif().jpeg({ quality: 85 }).toBuffer(); // 4032×3024 stored, 3024×4032 upright
    const crop = { left: 500, top: 600, width: 2400, height: 2400 };
    await open();
    await tab.addScriptTag({ type: 'module', content: "import { shrinkForUpload } from '/client.js'; window.shrinkForUpload = shrinkForUpload;" });
    await tab.waitForFunction(() => 'shrinkForUpload' in window);
    const result = await tab.evaluate(
      async ([base64, rect]) => {
        const { shrinkForUpload } = window as unknown as typeof import('../../src/client/index.js');
        const file = new File([Uint8Array.from(atob(base64!), (c) => c.charCodeAt(0))], 'IMG.jpg', { type: 'image/jpeg' });
        const out = await shrinkForUpload(file, { maxBytes: 5 * 1024 * 1024, maxSide: 1024, crop: rect as never });
        const bytes = new Uint8Array(await out.blob.arrayBuffer());
        return { shrunk: out.shrunk, crop: out.crop, type: out.blob.type, name: out.blob.name, bytes: Array.from(bytes) };
      },
      [q85.toString('base64'), crop] as const,
    );
    expect(result).toMatchObject({ shrunk: true, crop: { left: 0, top: 0, width: 1024, height: 1024 }, type: 'image/jpeg', name: 'IMG.jpg' });
    const sent = await sharp(Buffer.from(result.bytes)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(sent.info).toMatchObject({ width: 1024, height: 1024 });
    const upright = await sharp(q85).rotate().jpeg({ quality: 100 }).toBuffer(); // rotate first, then cut: two steps
    const expected = await sharp(upright).extract(crop).resize(1024, 1024).ensureAlpha().raw().toBuffer();
    const diff = meanDiff(sent.data, expected);
    expect(diff).toBeLessThan(4);
    // The same region of the sideways (unrotated) pixels is something else: the crop really is in upright pixels.
    const sideways = await sharp(q85).extract(crop).resize(1024, 1024).ensureAlpha().raw().toBuffer();
    expect(meanDiff(sent.data, sideways)).toBeGreaterThan(diff * 4);
  }, 60_000);

  it('cancels while preparing: nothing is sent, and the file stays chosen', async () => {
    await open();
    await choose('IMG_0001.jpg', photo.bytes);
    await state('selected');
    const cdp = await tab.context().newCDPSession(tab);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await tab.locator(`${WIDGET} .upload`).click();
    await state('preparing');
    await tab.locator(`${WIDGET} .cancel`).click();
    await state('selected');
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    expect(await tab.locator(`${WIDGET} .status`).textContent()).toBe('Upload cancelled.');
    await tab.waitForTimeout(500);
    expect(received).toEqual([]);
  }, 60_000);

  it('with no-shrink, still refuses the large photo before sending a byte', async () => {
    attributes = 'no-shrink';
    await open();
    await choose('IMG_0001.jpg', photo.bytes);
    const error = tab.locator(`${WIDGET} .error`);
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toMatch(/^This file is 6(\.\d)? MiB; the limit is 5 MiB\. Choose a smaller one\.$/);
    expect(received).toEqual([]);
  }, 60_000);

  it('does not re-encode an animated GIF over the limit (it would lose its animation): refused before sending', async () => {
    const frames = await Promise.all(
      ['#ff0000', '#00ff00', '#0000ff'].map((background) =>
        sharp({ create: { width: 200, height: 200, channels: 3, background, noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
          .png()
          .toBuffer(),
      ),
    );
    const gif = await sharp(frames, { join: { animated: true } }).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
    expect(gif.length).toBeGreaterThan(20_000);
    await open();
    const config = JSON.stringify({ ...clientConfig(pictures.options), maxFileSize: 20_000 });
    await tab.evaluate(([tag, json]) => document.querySelector(tag!)!.setAttribute('config', json!), [WIDGET, config]);
    await choose('party.gif', gif);
    const error = tab.locator(`${WIDGET} .error`);
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toMatch(/the limit is 20 KiB\. Choose a smaller one\.$/);
    expect(received).toEqual([]);
  }, 60_000);
});
