/// <reference lib="dom" />
/**
 * Animated in → animated out through the widget in Chromium, against the Express example run with
 * `PROFILE_PICTURE_ANIMATED=1` (the library's `animated: true`): the real animated GIF fixture is chosen and uploaded
 * with the crop step left as it opens, and the `md` picture the page links to has every frame of the GIF, its delays
 * and loop count, each frame the centred square of the source frame; the avatar route's `?still` gives one frame.
 * Screenshots of each step go to artifacts/.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameRgb, meanDifference, TERMINAL_GIF } from '../fixtures/animated.js';
import { clearScreenshots, hasChromium, launchChromium, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { lastSentForm } from './sent-forms.js';
import { chooseFile, openProfile, signedInPage } from './signed-in.js';

const WIDGET = 'profile-picture-upload';
const USERNAME = 'grace.hopper';
const FRAMES = TERMINAL_GIF.delay.length;
/** The centred square of the 240 × 158 GIF: every frame is cut to it. */
const SQUARE = { left: 41, top: 0, width: 158, height: 158 };

describe.skipIf(!hasChromium)('animated GIF through the widget: express-app with PROFILE_PICTURE_ANIMATED=1', () => {
  let server: RunningExample;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let shot = 0;
  const snap = (name: string) => screenshot(page, `animated-${String(++shot).padStart(2, '0')}-${name}`);

  beforeAll(async () => {
    await clearScreenshots('animated');
    [server, browser] = await Promise.all([startExample('express-app', { PROFILE_PICTURE_ANIMATED: '1' }), launchChromium()]);
    ({ context, page, errors } = await signedInPage(browser, server, USERNAME));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  /** Fetches `url` (relative to the app) as the signed-in page would, following redirects. */
  const fetchBytes = async (url: string) => {
    const response = await page.request.get(new URL(url, server.url).href);
    expect(response.status(), url).toBe(200);
    return response.body();
  };

  it('uploads the animated GIF; the md picture the page shows keeps every frame, the delays and the loop', async () => {
    await openProfile(page, server);
    await chooseFile(page, { name: 'terminal.gif', mimeType: 'image/gif', buffer: TERMINAL_GIF.bytes });
    await page.locator(`${WIDGET}[state="selected"]`).waitFor({ state: 'attached' });
    // Chromium decodes the GIF, so the crop step opens; it is left as it opens (the whole centred square).
    expect(await page.locator(`${WIDGET} .stage`).isVisible()).toBe(true);
    await snap('chosen');
    await page.locator(`${WIDGET} .upload`).click();
    await page.locator(`${WIDGET}[state="done"]`).waitFor({ state: 'attached', timeout: 20_000 });
    await page.locator('img[data-avatar="lg"]').waitFor({ state: 'attached' });
    await snap('uploaded');

    // The file went as it was (animations are never re-encoded in the browser), without crop fields.
    const sent = await lastSentForm(page);
    expect(sent.files).toEqual([{ field: 'profile_picture', name: 'terminal.gif', size: TERMINAL_GIF.bytes.length, type: 'image/gif' }]);
    expect(Object.keys(sent.fields).filter((name) => name.startsWith('crop_'))).toEqual([]);

    await page.goto(`${server.url}/dashboard/`);
    const src = await page.locator('img[data-avatar="md"]').getAttribute('src');
    expect(src).toBeTruthy();
    const md = await fetchBytes(src!);
    const stored = server.userRow(USERNAME)!.picture!.variants.md!.key;
    expect(md.equals(await readFile(join(server.mediaDir, stored)))).toBe(true);
    const meta = await sharp(md).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256, pages: FRAMES, loop: TERMINAL_GIF.loop });
    expect(meta.delay).toEqual(TERMINAL_GIF.delay);
    // Every frame is its own source frame's centred square: close to it (lossy WebP of an upscaled frame stays under
    // ~2), and closer to it than to any visibly different frame, so the frames are not shuffled or repeated.
    const expected = await Promise.all(
      TERMINAL_GIF.delay.map((_, frame) => frameRgb(TERMINAL_GIF.bytes, frame, (image) => image.extract(SQUARE).resize(256, 256))),
    );
    const differences: number[] = [];
    for (let frame = 0; frame < FRAMES; frame++) {
      const actual = (await frameRgb(md, frame)).data;
      const own = meanDifference(actual, expected[frame]!.data);
      differences.push(own);
      expect(own, `frame ${frame}`).toBeLessThan(2.5);
      for (const [other, reference] of expected.entries()) {
        if (meanDifference(reference.data, expected[frame]!.data) > 1) {
          expect(meanDifference(actual, reference.data), `frame ${frame} vs ${other}`).toBeGreaterThan(own);
        }
      }
    }
    console.info(`[animated] md: ${meta.pages} frames, delays ${meta.delay?.join(',')} ms, loop ${meta.loop}; ` +
      `mean |Δ| per frame ${differences.map((d) => d.toFixed(2)).join(', ')}`);
    await snap('dashboard');
    expect(errors).toEqual([]);
  });

  it("the avatar route's ?still gives the first frame alone; without it, the animation", async () => {
    const { id } = server.userRow(USERNAME)!;
    const still = await fetchBytes(`/avatar/${encodeURIComponent(id)}?variant=md&still`);
    const stillMeta = await sharp(still).metadata();
    expect(stillMeta).toMatchObject({ format: 'webp', width: 256, height: 256 });
    expect(stillMeta.pages ?? 1).toBe(1);
    const animated = await fetchBytes(`/avatar/${encodeURIComponent(id)}?variant=md`);
    expect((await sharp(animated).metadata()).pages).toBe(FRAMES);
    const first = await frameRgb(animated, 0);
    expect(meanDifference((await frameRgb(still, 0)).data, first.data)).toBeLessThan(1.5);
    // And it is frame 0, not any frame: the GIF's frames differ visibly from it.
    const last = await frameRgb(animated, FRAMES - 1);
    expect(meanDifference((await frameRgb(still, 0)).data, last.data)).toBeGreaterThan(1.5);
  });
});
