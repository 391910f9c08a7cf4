/// <reference lib="dom" />
/**
 * The `<profile-picture-upload>` widget on its own, as built in `dist/client.js`, in Chromium: the instant checks
 * (size, format by content, dimensions, one file), the request it sends, cancelling, keyboard access, config
 * fallback and message overrides. A small real HTTP server plays the upload endpoint and records what arrives; the
 * library's own endpoint is exercised by the example scenarios.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectPageErrors, hasChromium, interceptFileChoosers, launchChromium } from './browser.js';

const CLIENT = join(import.meta.dirname, '..', '..', 'dist', 'client.js');
const CONFIG = { maxFileSize: 200_000, accept: ['image/png', 'image/jpeg'], minSide: 32, fieldName: 'avatar' };
const WIDGET = 'profile-picture-upload';
/** Dark pages: one that says so with `color-scheme` (as `light dark` does on a dark OS), one with dark CSS only. */
const DARK_PAGES: Record<string, string> = {
  '/page-dark': ':root { color-scheme: dark; background: #121212; color: #ececec; }',
  '/page-dark-css': ':root { background: #121212; color: #ececec; }',
};
/** A dark page as dark as the dark palette's own surface (a card around the widget may be that colour too). */
const SURFACE_PAGE = { '/page-dark-surface': ':root { color-scheme: dark; background: #1c2130; color: #e8ebf1; }' };
const PAGE_STYLES: Record<string, string> = { ...DARK_PAGES, ...SURFACE_PAGE };

/** WCAG contrast ratio of two sRGB colours given as 0–255 channels. */
function contrast(a: number[], b: number[]): number {
  const luminance = (rgb: number[]) => {
    const [r, g, b] = rgb.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** `minimum` when `ratio` reaches it (WCAG does not round: 2.99 fails 3:1), else `ratio` to two decimals, to show. */
function atLeast(ratio: number, minimum: number): number {
  return ratio >= minimum ? minimum : Math.floor(ratio * 100) / 100;
}

/** The 0–255 channels of a computed colour: "rgb(r g b)", or "color(srgb r g b)" in 0–1 (what color-mix() gives). */
function channels(color: string): number[] {
  return (color.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => Number(v) * (color.startsWith('color(') ? 255 : 1));
}

/** What the endpoint received. */
interface Received {
  headers: IncomingMessage['headers'];
  bytes: number;
  body: string;
  /** The client closed the connection before the server answered. */
  closedEarly: boolean;
}

function page(widget: string, style = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>widget</title><style>${style}</style>
<script type="module" src="/client.js"></script></head><body>
<form method="post" action="/upload" enctype="multipart/form-data">${widget}</form></body></html>`;
}

describe.skipIf(!hasChromium)('<profile-picture-upload> in Chromium', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  let tab: Page;
  let errors: string[];
  let received: Received[];
  let hang = false;
  /** Stop reading request bodies: a large upload stalls part-way, as on a slow uplink. */
  let stall = false;
  /** The requests `stall` left unread. */
  let paused: IncomingMessage[] = [];
  /** The endpoint's next answers (status and JSON body), in order; once used up, a picture. */
  let answers: Array<{ status: number; body: unknown; headers?: Record<string, string> }> = [];
  let png64: Buffer;
  let png16: Buffer;
  let gif64: Buffer;

  beforeAll(async () => {
    const client = await readFile(CLIENT);
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (req.method === 'GET' && path === '/client.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(client);
      } else if (req.method === 'GET' && path.startsWith('/page')) {
        const html = path.includes('fallback')
          ? page(`<${WIDGET}><input type="file" name="photo" accept="image/webp"></${WIDGET}>`)
          : page(`<${WIDGET} config='${JSON.stringify(CONFIG)}'></${WIDGET}>`, PAGE_STYLES[path] ?? '');
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
      } else if (req.method === 'POST' && path === '/upload') {
        const entry: Received = { headers: req.headers, bytes: 0, body: '', closedEarly: false };
        received.push(entry);
        res.on('close', () => (entry.closedEarly = !res.writableEnded));
        if (stall) return void paused.push(req.pause());
        req.on('data', (chunk: Buffer) => {
          entry.bytes += chunk.length;
          entry.body += chunk.toString('latin1');
        });
        req.on('end', () => {
          if (hang) return; // never answer: the test cancels
          const answer = answers.shift();
          if (answer) {
            // A string body is a page, as a proxy in front of the app answers (nginx's 413, a 502).
            const html = typeof answer.body === 'string';
            const type = html ? 'text/html' : 'application/json';
            res.writeHead(answer.status, { 'Content-Type': type, ...answer.headers }).end(html ? answer.body : JSON.stringify(answer.body));
            return;
          }
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ picture: { version: 'v1', urls: { sm: '/sm.webp', md: '/md.webp', lg: '/lg.webp' } } }));
        });
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const solid = (size: number) => sharp({ create: { width: size, height: size, channels: 3, background: '#3366cc' } });
    [browser, png64, png16, gif64] = await Promise.all([
      launchChromium(),
      solid(64).png().toBuffer(),
      solid(16).png().toBuffer(),
      solid(64).gif().toBuffer(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(async () => {
    received = [];
    hang = false;
    stall = false;
    paused = [];
    answers = [];
    tab = await browser.newPage();
    interceptFileChoosers(tab);
    errors = collectPageErrors(tab);
    await tab.goto(`${url}/page`);
    await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
    await tab.evaluate(() => {
      const log: Array<{ type: string; detail: unknown }> = [];
      (window as unknown as { __events: typeof log }).__events = log;
      for (const type of ['select', 'progress', 'uploaded', 'error']) {
        document.addEventListener(`profile-picture:${type}`, (e) => log.push({ type, detail: (e as CustomEvent).detail }));
      }
    });
    return async () => {
      expect(errors).toEqual([]);
      await tab.close();
    };
  });

  const events = (type: string) =>
    tab.evaluate(
      (t) => (window as unknown as { __events: Array<{ type: string; detail: any }> }).__events.filter((e) => e.type === t).map((e) => e.detail),
      type,
    );
  const choose = async (name: string, mimeType: string, buffer: Buffer) => {
    const [chooser] = await Promise.all([tab.waitForEvent('filechooser'), tab.locator(`${WIDGET} .zone`).click()]);
    await chooser.setFiles({ name, mimeType, buffer });
  };
  const state = (value: string) => tab.locator(`${WIDGET}[state="${value}"]`).waitFor({ state: 'attached' });
  const errorText = async () => {
    await tab.locator(`${WIDGET} .error`).waitFor({ state: 'visible' });
    return tab.locator(`${WIDGET} .error`).textContent();
  };

  it('describes the accepted files from the server config', async () => {
    expect(await tab.locator(`${WIDGET} .hint`).textContent()).toBe('PNG or JPEG · up to 195 KiB');
    expect(await tab.locator(`${WIDGET} input[type=file]`).getAttribute('accept')).toBe('image/png,image/jpeg');
  });

  it('refuses a file over the size limit that the browser cannot shrink, before sending it', async () => {
    const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(250_000)]); // a JPEG it cannot decode
    await choose('big.jpg', 'image/jpeg', big);
    expect(await errorText()).toBe(`This file is ${Math.round(big.length / 1024)} KiB; the limit is 195 KiB. Choose a smaller one.`);
    expect((await events('error')).map((e) => e.code)).toEqual(['FILE_TOO_LARGE']);
    expect(received).toEqual([]);
  });

  it('shrinks a decodable image over the size limit and sends that instead', async () => {
    const noisy = await sharp({
      create: { width: 600, height: 600, channels: 3, background: '#3366cc', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
    })
      .png()
      .toBuffer();
    expect(noisy.length).toBeGreaterThan(CONFIG.maxFileSize);
    await choose('noisy.png', 'image/png', noisy);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(received).toHaveLength(1);
    expect(received[0]!.bytes).toBeLessThan(CONFIG.maxFileSize);
    expect(received[0]!.body).toContain('Content-Disposition: form-data; name="avatar"; filename="noisy.jpg"\r\nContent-Type: image/jpeg');
  });

  it('refuses an accepted format the server does not take, by content', async () => {
    await choose('cat.png', 'image/png', gif64); // a GIF named .png
    expect(await errorText()).toBe('This image format is not supported. Choose a PNG or JPEG file.');
    expect((await events('error'))[0]).toMatchObject({ code: 'UNSUPPORTED_TYPE', status: null });
  });

  it('refuses an image below the minimum side once the browser has decoded it', async () => {
    await choose('tiny.png', 'image/png', png16);
    expect(await errorText()).toBe('This image is too small: it must be at least 32×32 pixels.');
    expect((await events('error')).map((e) => e.code)).toEqual(['IMAGE_TOO_SMALL']);
    expect(await tab.locator(`${WIDGET} .preview img`).isVisible()).toBe(false);
  });

  it('accepts one dropped file at a time', async () => {
    const dataTransfer = await tab.evaluateHandle((base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'a.png', { type: 'image/png' }));
      transfer.items.add(new File([bytes], 'b.png', { type: 'image/png' }));
      return transfer;
    }, png64.toString('base64'));
    await tab.locator(`${WIDGET} .zone`).dispatchEvent('drop', { dataTransfer });
    expect(await errorText()).toBe('Drop one file at a time.');
    expect((await events('error')).map((e) => e.code)).toEqual(['TOO_MANY_FILES']);
  });

  it('posts the file as multipart under the configured field, asking for JSON, and reports the picture', async () => {
    await choose('me.png', 'image/png', png64);
    await state('selected');
    expect(received).toEqual([]); // preview first; nothing is sent until the user confirms
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.headers.accept).toBe('application/json');
    expect(request!.headers['x-requested-with']).toBe('XMLHttpRequest');
    expect(request!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(request!.body).toContain('Content-Disposition: form-data; name="avatar"; filename="me.png"');
    expect(request!.body).toContain(png64.toString('latin1'));
    expect((await events('uploaded'))[0].picture.urls.lg).toBe('/lg.webp');
    const progress = await events('progress');
    expect(progress.at(-1)).toEqual({ loaded: progress.at(-1).total, total: progress.at(-1).total });
    expect(await tab.locator(`${WIDGET} .status`).textContent()).toBe('Your profile picture has been updated.');
  });

  it("keeps the file after a 429 or 408 (a wait or a slow connection, not a refusal) to send again, and drops it when the server refuses it", async () => {
    const tooMany = 'You have changed your profile picture too often; try again in 42 minutes.';
    answers = [
      { status: 429, body: { error: { code: 'TOO_MANY_CHANGES', message: tooMany, details: { retryAfter: 2520 } } }, headers: { 'Retry-After': '2520' } },
      // Closing the connection, so the next request opens a new one: Chromium silently sends a request again when a
      // kept-alive connection answers it 408, and the widget would never see that answer.
      {
        status: 429,
        body: { error: { code: 'TOO_MANY_UPLOADS', message: 'Another upload of yours is still in progress; try again shortly.' } },
        headers: { Connection: 'close' },
      },
      // As the library answers a body that came in too slowly (and it closes the connection).
      {
        status: 408,
        body: { error: { code: 'TIMEOUT', message: 'The upload took longer than 30 seconds; try again on a faster connection.' } },
        headers: { Connection: 'close' },
      },
      { status: 403, body: { error: { code: 'LOCKED', message: 'Your profile picture is locked: Under review.', details: { reason: 'Under review.' } } } },
    ];
    await choose('me.png', 'image/png', png64);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    expect(await errorText()).toBe(tooMany);
    await state('selected'); // the same file, ready for a retry
    expect(await tab.locator(`${WIDGET} .preview img`).isVisible()).toBe(true);
    expect(await tab.locator(`${WIDGET} .upload`).isVisible()).toBe(true);

    await tab.locator(`${WIDGET} .upload`).click(); // the retry sends the same bytes
    await expect.poll(() => received.length).toBe(2);
    await tab.locator(`${WIDGET} .error`, { hasText: 'still in progress' }).waitFor();
    await state('selected');
    expect(received[1]!.body).toContain(png64.toString('latin1'));

    await tab.locator(`${WIDGET} .upload`).click();
    await tab.locator(`${WIDGET} .error`, { hasText: 'faster connection' }).waitFor();
    await state('selected');

    await tab.locator(`${WIDGET} .upload`).click();
    expect(await tab.locator(`${WIDGET} .error`, { hasText: 'locked' }).textContent()).toBe('Your profile picture is locked: Under review.');
    await state('error'); // a refusal: the file is dropped
    expect(await tab.locator(`${WIDGET} .preview img`).isVisible()).toBe(false);
    expect((await events('error')).map((e) => [e.code, e.status])).toEqual([
      ['TOO_MANY_CHANGES', 429],
      ['TOO_MANY_UPLOADS', 429],
      ['TIMEOUT', 408],
      ['LOCKED', 403],
    ]);
  });

  it("says a file is too large when a proxy's page answers 413, instead of asking to try again", async () => {
    // nginx refuses bodies over client_max_body_size (1 MiB by default) with a page of its own, below the app's limit.
    answers = [{ status: 413, body: '<html><body><h1>413 Request Entity Too Large</h1></body></html>' }];
    await choose('me.png', 'image/png', png64);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    expect(await errorText()).toBe('This file (237 bytes) is too large for the server. Choose a smaller one.');
    await state('error'); // the same file would be refused again: it is dropped
    expect((await events('error')).map((e) => [e.code, e.status])).toEqual([['FILE_TOO_LARGE', 413]]);
  });

  it('names the progress bar without a number, so it cannot contradict the percentage it announces', async () => {
    stall = true;
    await tab.evaluate((tag) => {
      const widget = document.querySelector(tag)!;
      widget.setAttribute('no-shrink', '');
      widget.setAttribute('config', JSON.stringify({ maxFileSize: 50_000_000, accept: ['image/png'], minSide: 1, fieldName: 'avatar' }));
    }, WIDGET);
    // 24 MB: far more than the socket buffers take while the server reads nothing (bytes after IEND do not matter).
    await choose('big.png', 'image/png', Buffer.concat([png64, Buffer.alloc(24_000_000)]));
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state('uploading');
    await expect.poll(() => tab.evaluate((tag) => document.querySelector(tag)!.shadowRoot!.querySelector('progress')!.value, WIDGET)).toBeGreaterThan(0);
    const cdp = await tab.context().newCDPSession(tab);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: Array<{ role?: { value: string }; name?: { value: string } }> };
    await cdp.detach();
    const bar = nodes.find((node) => node.role?.value === 'progressbar');
    expect(bar?.name?.value).toBe('Uploading big.png…'); // was "Uploading… 0%", whatever the bar stood at
    const { value, text } = await tab.evaluate((tag) => {
      const progress = document.querySelector(tag)!.shadowRoot!.querySelector('progress')!;
      return { value: progress.value, text: progress.getAttribute('aria-valuetext') };
    }, WIDGET);
    expect(text).toBe(`${value}%`);
    await tab.locator(`${WIDGET} .cancel`).click();
    await state('selected');
  });

  /** A PNG `bytes` long (zeros after its IEND: the bytes only make the upload take long). */
  const paddedPng = (bytes: number) => Buffer.concat([png64, Buffer.alloc(bytes - png64.length)]);
  const allowLargeFiles = () =>
    tab.evaluate((tag) => {
      const widget = document.querySelector(tag)!;
      widget.setAttribute('no-shrink', '');
      widget.setAttribute('config', JSON.stringify({ maxFileSize: 50_000_000, accept: ['image/png'], minSide: 1, fieldName: 'avatar' }));
    }, WIDGET);

  it.each([
    // 24 MB: far more than the socket buffers take, so the body stops part-way while the server reads nothing.
    { phase: 'uploading', when: 'the server stops reading the body', size: 24_000_000 },
    // A small body fits in the socket buffers: all of it is "sent", and the server never answers.
    { phase: 'processing', when: 'the server never answers', size: 237 },
  ])('stops an upload stuck in $phase when $when, keeps the file and sends it again on retry', async ({ phase, size }) => {
    if (phase === 'uploading') stall = true;
    else hang = true;
    await allowLargeFiles();
    await tab.evaluate((tag) => document.querySelector(tag)!.setAttribute('stall-timeout', '1'), WIDGET);
    await choose('big.png', 'image/png', paddedPng(size));
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state(phase);
    const started = Date.now();
    expect(await errorText()).toBe(
      'The upload stalled: nothing got through for too long, so it was stopped. Check your connection and try again.',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // not before a second without progress
    await state('selected'); // the file stays, ready to be sent again
    expect(await tab.locator(`${WIDGET} [role=alert]`).textContent()).toContain('The upload stalled');
    expect((await events('error')).map((e) => [e.code, e.status])).toEqual([['STALLED', null]]);
    stall = hang = false;
    for (const request of paused) request.resume(); // reading again, the server sees the connection is gone
    await expect.poll(() => received[0]?.closedEarly, { timeout: 5_000 }).toBe(true);
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(received).toHaveLength(2);
    expect(received[1]!.bytes).toBeGreaterThan(size);
  });

  it('ignores a stall-timeout that is not a positive number, with a warning, and keeps the default', async () => {
    const warnings: string[] = [];
    tab.on('console', (message) => void (message.type() === 'warning' && warnings.push(message.text())));
    await tab.evaluate((tag) => document.querySelector(tag)!.setAttribute('stall-timeout', '0'), WIDGET);
    await choose('me.png', 'image/png', png64);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done'); // a zero (or NaN) delay would have stopped the upload at once
    expect(warnings).toContain('<profile-picture-upload>: stall-timeout="0" is not a positive number; ignored.');
  });

  it('gives a slow upload that keeps moving all the time it needs', async () => {
    await allowLargeFiles();
    await tab.evaluate((tag) => document.querySelector(tag)!.setAttribute('stall-timeout', '1'), WIDGET);
    await choose('big.png', 'image/png', paddedPng(400_000));
    await state('selected');
    const cdp = await tab.context().newCDPSession(tab);
    // 400 KB at 128 KB/s: about three seconds, three times the stall timeout, with bytes moving all along.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 128_000 });
    const started = Date.now();
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(Date.now() - started).toBeGreaterThan(2_000);
    await cdp.detach();
    expect(await events('error')).toEqual([]);
    expect(received).toHaveLength(1);
  });

  it('cancels a running upload with the Cancel button and keeps the file for a retry', async () => {
    hang = true;
    await choose('me.png', 'image/png', png64);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).click();
    await tab.locator(`${WIDGET} .cancel`).waitFor({ state: 'visible' });
    await state('processing'); // the body is sent; the server is "working"
    await tab.locator(`${WIDGET} .cancel`).click();
    await state('selected');
    expect(await tab.locator(`${WIDGET} .status`).textContent()).toBe('Upload cancelled.');
    expect((await events('error')).map((e) => e.code)).toEqual(['ABORTED']);
    await expect.poll(() => received[0]?.closedEarly, { timeout: 5_000 }).toBe(true);
    // A second Cancel discards the file.
    await tab.locator(`${WIDGET} .cancel`).click();
    await state('idle');
    expect(await tab.locator(`${WIDGET} .upload`).isVisible()).toBe(false);
    expect(await tab.locator(`${WIDGET} .preview img`).isVisible()).toBe(false);
  });

  it('aborts with Escape and stays ready to retry the same file', async () => {
    hang = true;
    await choose('me.png', 'image/png', png64);
    await state('selected');
    await tab.locator(`${WIDGET} .upload`).focus();
    await tab.keyboard.press('Enter');
    await state('processing');
    expect(await tab.evaluate((tag) => document.querySelector(tag)!.shadowRoot!.activeElement?.className, WIDGET)).toBe(
      'secondary cancel',
    );
    await tab.keyboard.press('Escape');
    await state('selected');
    expect(await tab.locator(`${WIDGET} .upload`).isVisible()).toBe(true);
    expect(await tab.evaluate((tag) => document.querySelector(tag)!.shadowRoot!.activeElement?.className, WIDGET)).toBe(
      'primary upload',
    );
    hang = false;
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(received).toHaveLength(2);
  });

  it('is reachable and operable with the keyboard, with an accessible name and description', async () => {
    await tab.keyboard.press('Tab');
    const focused = await tab.evaluate(() => {
      const host = document.activeElement;
      const inner = host?.shadowRoot?.activeElement;
      return { host: host?.tagName, inner: inner?.className, label: inner?.getAttribute('aria-label') };
    });
    expect(focused).toEqual({ host: 'PROFILE-PICTURE-UPLOAD', inner: 'zone', label: 'Drag a photo here, or click to choose a file' });
    const zone = tab.getByRole('button', { name: 'Drag a photo here, or click to choose a file' });
    expect(await zone.getAttribute('aria-describedby')).toBe('hint note');
    const [chooser] = await Promise.all([tab.waitForEvent('filechooser'), tab.keyboard.press('Space')]);
    await chooser.setFiles({ name: 'me.png', mimeType: 'image/png', buffer: png64 });
    await state('selected');
    // Focus moves to the Upload button, so Enter confirms.
    await tab.keyboard.press('Enter');
    await state('done');
  });

  it('keeps keyboard focus in the widget when Cancel discards the chosen file', async () => {
    await tab.keyboard.press('Tab');
    const [chooser] = await Promise.all([tab.waitForEvent('filechooser'), tab.keyboard.press('Space')]);
    await chooser.setFiles({ name: 'me.png', mimeType: 'image/png', buffer: png64 });
    await state('selected');
    await tab.keyboard.press('Tab'); // Upload → Cancel
    await tab.keyboard.press('Enter');
    await state('idle');
    // The Cancel button is gone: focus goes back to the drop zone, not to the page's <body>.
    expect(await tab.evaluate((tag) => document.querySelector(tag)!.shadowRoot!.activeElement?.className, WIDGET)).toBe('zone');
  });

  it('keeps its live regions in the accessibility tree while empty, so the first message is announced', async () => {
    // A screen reader only announces changes to a live region it already knows; one that is display: none until it
    // gets text is new when the text arrives, and its first message ("ready to upload", the error) may go unsaid.
    const roles = async () => {
      const cdp = await tab.context().newCDPSession(tab);
      const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: Array<{ ignored: boolean; role?: { value: string } }> };
      await cdp.detach();
      return nodes.filter((node) => !node.ignored).map((node) => node.role?.value);
    };
    expect(await roles()).toEqual(expect.arrayContaining(['status', 'alert']));
    await choose('me.png', 'image/png', png64);
    await state('selected');
    expect(await roles()).toEqual(expect.arrayContaining(['status', 'alert']));
    // Still invisible while empty: no bordered, padded box without text.
    expect(await tab.locator(`${WIDGET} .error`).boundingBox().then((box) => box?.height ?? 0)).toBe(0);
  });

  it.each(Object.keys(DARK_PAGES))('keeps its texts legible on a dark page (%s)', async (path) => {
    await tab.goto(`${url}${path}`);
    await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
    await choose('me.png', 'image/png', png64);
    await state('selected');
    // WCAG contrast of each text against what is really behind it: the zone's own surface, or the page.
    const colors = await tab.evaluate((tag) => {
      const root = document.querySelector(tag)!.shadowRoot!;
      const color = (selector: string) => getComputedStyle(root.querySelector(selector)!).color;
      return {
        zone: getComputedStyle(root.querySelector('.zone')!).backgroundColor,
        page: getComputedStyle(document.documentElement).backgroundColor,
        prompt: color('.prompt'),
        action: color('.action'),
        hint: color('.hint'),
        status: color('.status'),
        cropHelp: color('.crop-help'),
      };
    }, WIDGET);
    const on = (text: string, background: string) => contrast(channels(text), channels(background));
    const ratios = {
      prompt: on(colors.prompt, colors.zone),
      action: on(colors.action, colors.zone),
      hint: on(colors.hint, colors.zone),
      status: on(colors.status, colors.page),
      cropHelp: on(colors.cropHelp, colors.page),
    };
    // Texts on the page itself can only follow a dark page that says so (color-scheme); those on the zone always can.
    const checked = path === '/page-dark' ? ratios : { prompt: ratios.prompt, action: ratios.action, hint: ratios.hint };
    for (const [text, ratio] of Object.entries(checked)) expect({ text, ratio: atLeast(ratio, 4.5) }).toEqual({ text, ratio: 4.5 });
  });

  it.each(['/page', '/page-dark', ...Object.keys(SURFACE_PAGE)])(
    'draws a focus ring of at least 3:1 against the colours next to it (%s)',
    async (path) => {
      await tab.goto(`${url}${path}`);
      await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
      await tab.evaluate(() => (document.body.style.padding = '24px')); // room to see the page beside each ring
      /**
       * The rendered pixels across the focused control's ring, midway along one side: the ring itself (3 px wide,
       * `outline-offset` away from the control), the page in the gap between ring and control, and the page outside.
       */
      const ringPixels = async (side: 'left' | 'bottom') => {
        const box = await tab.evaluate((tag) => {
          const focused = document.querySelector(tag)!.shadowRoot!.activeElement!;
          const { left, bottom, top, height, width } = focused.getBoundingClientRect();
          const style = getComputedStyle(focused);
          return { name: focused.className, left, bottom, top, height, width, offset: parseFloat(style.outlineOffset), ring: parseFloat(style.outlineWidth) };
        }, WIDGET);
        const { data, info } = await sharp(await tab.screenshot()).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        // `distance` px outwards from the control's edge, at the middle of that side.
        const at = (distance: number) => {
          const x = Math.floor(side === 'left' ? box.left - distance : box.left + box.width / 2);
          const y = Math.floor(side === 'left' ? box.top + box.height / 2 : box.bottom + distance);
          const i = (y * info.width + x) * 3;
          return [data[i]!, data[i + 1]!, data[i + 2]!];
        };
        const ring = at(box.offset + box.ring / 2);
        return {
          name: box.name,
          gap: contrast(ring, at(box.offset / 2)),
          outside: contrast(ring, at(box.offset + box.ring + 2)),
        };
      };
      const checkRing = async (side: 'left' | 'bottom', name: string) => {
        const { gap, outside, ...rest } = await ringPixels(side);
        expect({ ...rest, gap: atLeast(gap, 3), outside: atLeast(outside, 3) }).toEqual({ name, gap: 3, outside: 3 });
      };
      await tab.keyboard.press('Tab');
      await checkRing('left', 'zone');
      const [chooser] = await Promise.all([tab.waitForEvent('filechooser'), tab.keyboard.press('Space')]);
      await chooser.setFiles({ name: 'me.png', mimeType: 'image/png', buffer: png64 });
      await state('selected');
      await checkRing('bottom', 'primary upload');
      await tab.keyboard.press('Tab');
      await checkRing('bottom', 'secondary cancel');
      await tab.keyboard.press('Shift+Tab'); // Upload
      await tab.keyboard.press('Shift+Tab'); // the zoom slider (the browser's own ring)
      await tab.keyboard.press('Shift+Tab');
      await checkRing('left', 'stage');
    },
  );

  it('keeps the crop area and its buttons on screen at 320 CSS px wide with text at 200 %', async () => {
    const cdp = await tab.context().newCDPSession(tab);
    // The browser's own text size setting (16 px by default), as a user who needs larger text sets it; a small phone.
    await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32 } });
    await tab.setViewportSize({ width: 320, height: 568 });
    await tab.reload();
    await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
    expect(await tab.locator(`${WIDGET} .prompt`).evaluate((prompt) => getComputedStyle(prompt).fontSize)).toBe('32px');
    /** Which controls lie wholly inside the viewport (half a pixel of rounding allowed), and which part has focus. */
    const onScreen = () =>
      tab.evaluate((tag) => {
        const root = document.querySelector(tag)!.shadowRoot!;
        const inside = (selector: string) => {
          const box = root.querySelector(selector)!.getBoundingClientRect();
          return box.width > 0 && box.left >= -0.5 && box.top >= -0.5 && box.right <= innerWidth + 0.5 && box.bottom <= innerHeight + 0.5;
        };
        return {
          focused: root.activeElement?.getAttribute('part'),
          pageWidth: document.documentElement.scrollWidth,
          visible: { stage: inside('.stage'), zoom: inside('.zoom input'), upload: inside('.upload'), cancel: inside('.cancel') },
        };
      }, WIDGET);
    await choose('me.png', 'image/png', png64);
    await state('selected');
    // Focus goes to Upload, as ever, but the crop square stays in view above it: nothing scrolls sideways or is cut.
    const all = { stage: true, zoom: true, upload: true, cancel: true };
    expect(await onScreen()).toEqual({ focused: 'upload', pageWidth: 320, visible: all });
    // WCAG's reflow case, a 1280 × 1024 screen at 400 %: each control, once reached with the keyboard, is wholly in view.
    await tab.setViewportSize({ width: 320, height: 256 });
    for (const [key, focused, control] of [
      ['Shift+Tab', 'crop-zoom', 'zoom'],
      ['Shift+Tab', 'crop-stage', 'stage'],
      ['Tab', 'crop-zoom', 'zoom'],
      ['Tab', 'upload', 'upload'],
      ['Tab', 'cancel', 'cancel'],
    ] as const) {
      await tab.keyboard.press(key);
      const { visible, ...seen } = await onScreen();
      expect({ ...seen, visible: visible[control] }).toEqual({ focused, pageWidth: 320, visible: true });
    }
    await cdp.detach();
  });

  it('sends nothing while disabled, even with a file already chosen', async () => {
    await choose('me.png', 'image/png', png64);
    await state('selected');
    await tab.evaluate((tag) => document.querySelector(tag)!.setAttribute('disabled', ''), WIDGET);
    expect(await tab.locator(`${WIDGET} .upload`).isDisabled()).toBe(true);
    const result = await tab.evaluate(async (tag) => {
      document.querySelector('form')!.requestSubmit(); // Enter in another field of the page's form
      return (document.querySelector(tag) as HTMLElement & { upload(): Promise<unknown> }).upload();
    }, WIDGET);
    expect(result).toBeNull();
    await tab.waitForTimeout(300);
    expect(received).toEqual([]);
    expect(await tab.locator(`${WIDGET}[state="selected"]`).count()).toBe(1); // the file waits for the widget to be on
    await tab.evaluate((tag) => document.querySelector(tag)!.removeAttribute('disabled'), WIDGET);
    await tab.locator(`${WIDGET} .upload`).click();
    await state('done');
    expect(received).toHaveLength(1);
  });

  it('takes field name and types from a fallback input when there is no config attribute', async () => {
    await tab.goto(`${url}/page-fallback`);
    await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
    expect(await tab.locator(`${WIDGET} .hint`).textContent()).toBe('WebP');
    const inner = await tab.evaluate((tag) => document.querySelector(tag)!.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!.accept, WIDGET);
    expect(inner).toBe('image/webp');
    // The fallback input is disabled once upgraded: never validated, never sent.
    expect(await tab.locator(`${WIDGET} > input[name="photo"]`).isDisabled()).toBe(true);
  });

  it('lets the page reword its texts', async () => {
    await tab.evaluate((tag) => {
      const element = document.querySelector(tag) as HTMLElement & { messages: Record<string, unknown> };
      element.messages = { prompt: 'Glissez une photo ici', hint: ({ limit }: { limit: string }) => `jusqu’à ${limit}` };
    }, WIDGET);
    expect(await tab.locator(`${WIDGET} .prompt`).textContent()).toBe('Glissez une photo ici');
    expect(await tab.locator(`${WIDGET} .hint`).textContent()).toBe('jusqu’à 195 KiB');
  });
});
