/// <reference lib="dom" />
/**
 * The example's pictures load fast-looking: each `<img>` carries `srcset`/`sizes` (pictures.srcset()), its size,
 * `loading` and `decoding`, and the record's preview, checked in the HTML the Express example serves over real HTTP;
 * then in real Chromium, the variant the browser picks per screen density and the placeholder the page script paints
 * (through the CSSOM) while the pictures are held back, under the example's strict CSP without a single violation.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PictureRecord } from '../../src/index.js';
import { multipart, request } from '../integration/adapter-suite.js';
import { collectPageErrors, hasChromium, launchChromium, loadedImageWidth } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { portraitJpeg, WARM } from './photos.js';

const USERNAME = 'margaret.hamilton';

/** Every `<img>` tag of `html` as its attributes (names lower-cased; bare attributes are ''). */
function images(html: string): Array<Record<string, string>> {
  return [...html.matchAll(/<img\s([^>]*)>/g)].map(([, attributes]) =>
    Object.fromEntries([...attributes!.matchAll(/([\w-]+)(?:="([^"]*)")?/g)].map(([, name, value]) => [name!.toLowerCase(), value ?? ''])),
  );
}

describe('example app: srcset, sizes and placeholders (express-app)', () => {
  let server: RunningExample;
  let port: number;
  let cookie = '';
  let record: PictureRecord;

  /** A same-origin request with the session cookie, as a browser sends a page load or a form post. */
  const browse = async (path: string, body?: { type: string; data: Buffer | string }) => {
    const headers: Record<string, string> = { accept: 'text/html', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', cookie };
    if (body) Object.assign(headers, { origin: server.url, 'content-type': body.type });
    const response = await request(port, path, { method: body ? 'POST' : 'GET', headers, body: body?.data });
    const set = response.headers['set-cookie']?.map((line) => line.split(';')[0]).join('; ');
    if (set) cookie = set;
    return response;
  };

  beforeAll(async () => {
    const photo = portraitJpeg(WARM, 800, 600);
    server = await startExample('express-app');
    port = Number(new URL(server.url).port);
    const form = new URLSearchParams({ username: USERNAME, password: 'apollo-guidance-1969' }).toString();
    expect((await browse('/signup/', { type: 'application/x-www-form-urlencoded', data: form })).status).toBe(303);
    const upload = multipart([{ name: 'profile_picture', filename: 'me.jpg', type: 'image/jpeg', data: await photo }]);
    const answer = await browse('/upload-profile-picture/', { type: upload.contentType, data: upload.body });
    expect(answer.headers.location).toBe('/profile/?profile_picture=uploaded');
    record = server.userRow(USERNAME)!.picture as unknown as PictureRecord;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('renders every avatar with srcset, sizes, width, height, loading, decoding and the preview', async () => {
    const { sm, md, lg } = record.variants;
    const srcset = `/media/${sm!.key} 64w, /media/${md!.key} 256w, /media/${lg!.key} 512w`;
    const preview = { 'data-preview-color': record.preview!.color, 'data-preview-thumbhash': record.preview!.thumbhash };
    expect(record.preview!.color).toMatch(/^#[0-9a-f]{6}$/);

    const profile = images((await browse('/profile/')).text);
    expect(profile).toEqual([
      // The header badge: decorative (the username is next to it), lazy.
      { class: 'avatar avatar--sm', 'data-avatar': 'sm', 'data-alt': '', src: `/media/${sm!.key}`, srcset, sizes: '36px',
        alt: '', width: '36', height: '36', loading: 'lazy', decoding: 'async', ...preview },
      // The page's main picture: not lazy.
      { class: 'avatar avatar--lg', 'data-avatar': 'lg', 'data-alt': `Profile picture of ${USERNAME}`, src: `/media/${lg!.key}`,
        srcset, sizes: '176px', alt: `Profile picture of ${USERNAME}`, width: '176', height: '176', loading: 'eager',
        decoding: 'async', ...preview },
    ]);
    const dashboard = images((await browse('/dashboard/')).text);
    expect(dashboard.map((img) => [img.class, img.srcset, img.sizes, img.width, img.height, img.loading, img.decoding])).toEqual([
      ['avatar avatar--sm', srcset, '36px', '36', '36', 'lazy', 'async'],
      ['avatar avatar--md', srcset, '112px', '112', '112', 'lazy', 'async'],
    ]);
  });

  describe.skipIf(!hasChromium)('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    /** A page of a fresh context on the user's session, at `scale` device pixels per CSS pixel. */
    const openPage = async (scale: number) => {
      const context = await browser.newContext({ deviceScaleFactor: scale, viewport: { width: 1000, height: 800 } });
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
      const page = await context.newPage();
      return { context, page, errors: collectPageErrors(page) };
    };

    it.each([
      [1, { sm: 64, md: 256, lg: 256 }],
      [2, { sm: 256, md: 256, lg: 512 }], // 72 device pixels: the 64 px file is not enough
    ])('at %ix the browser loads the smallest variant that is sharp', async (scale, widths) => {
      const { context, page, errors } = await openPage(scale);
      try {
        await page.goto(`${server.url}/dashboard/`);
        expect(await loadedImageWidth(page, '.account__badge .avatar')).toBe(widths.sm);
        expect(await loadedImageWidth(page, '.card .avatar--md')).toBe(widths.md);
        await page.goto(`${server.url}/profile/`);
        expect(await loadedImageWidth(page, '.profile__current .avatar--lg')).toBe(widths.lg);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    });

    it('paints the preview behind each picture while it loads, then clears it, with no CSP violation', async () => {
      const { context, page, errors } = await openPage(1);
      try {
        // Hold every picture back until the placeholders have been looked at.
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        await page.route('**/media/**', async (route) => {
          await released;
          await route.continue();
        });
        await page.goto(`${server.url}/profile/`, { waitUntil: 'domcontentloaded' });
        const large = page.locator('.profile__current .avatar--lg');
        await page.waitForFunction(() => document.querySelector<HTMLElement>('.avatar--lg')?.style.backgroundImage !== '');
        const painted = await large.evaluate((img: HTMLImageElement) => ({
          complete: img.complete && img.naturalWidth > 0,
          color: getComputedStyle(img).backgroundColor,
          image: getComputedStyle(img).backgroundImage,
          size: getComputedStyle(img).backgroundSize,
        }));
        const [r, g, b] = [1, 3, 5].map((at) => parseInt(record.preview!.color.slice(at, at + 2), 16));
        expect(painted).toMatchObject({ complete: false, color: `rgb(${r}, ${g}, ${b})`, size: 'cover' });
        expect(painted.image).toMatch(/^url\("data:image\/png;base64,iVBORw0KGgo[A-Za-z0-9+/=]+"\)$/);

        release();
        expect(await loadedImageWidth(page, '.profile__current .avatar--lg')).toBe(256);
        await page.waitForFunction(() => document.querySelector<HTMLElement>('.avatar--lg')?.style.backgroundImage === '');
        expect(await large.evaluate((img) => img.getAttribute('style'))).toBe('');
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });
});
