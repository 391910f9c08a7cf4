/// <reference lib="dom" />
/**
 * The example's previous pictures (option `history`, `PROFILE_PICTURE_HISTORY`, 3 by default) in real Chromium, on
 * the Express and Koa apps: two uploads through the widget, the first one shows up under "Previous pictures" without
 * a reload, and *Use this picture* (a plain form post) brings it back — the shown picture's URL and pixels are the
 * first upload's again, the record points at its objects, and no file was written or deleted.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearScreenshots, hasChromium, launchChromium, loadedImageWidth, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { COOL, portraitJpeg, WARM } from './photos.js';
import { chooseFile, openProfile, signedInPage, type SignedInPage } from './signed-in.js';

const WIDGET = 'profile-picture-upload';
const LARGE_AVATAR = '.profile__current .avatar--lg';
const PREVIOUS = '.previous__item';

/**
 * A sky pixel `[r, g, b]` (an eighth in from the top left corner) of the file `selector`'s image shows (its
 * `currentSrc`), once it has loaded. Not the centre: that is the face, the same skin tone in both palettes.
 */
async function skyPixel(page: Page, selector: string): Promise<number[]> {
  expect(await loadedImageWidth(page, selector)).toBeGreaterThan(0);
  return page.locator(selector).first().evaluate(async (element) => {
    const file = new Image();
    file.src = (element as HTMLImageElement).currentSrc;
    await file.decode();
    const canvas = document.createElement('canvas');
    canvas.width = file.naturalWidth;
    canvas.height = file.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(file, 0, 0);
    return [...context.getImageData(file.naturalWidth >> 3, file.naturalHeight >> 3, 1, 1).data.slice(0, 3)];
  });
}

for (const app of ['express-app', 'koa-app'] as const) {
  const prefix = `previous-${app.replace('-app', '')}`;

  describe.skipIf(!hasChromium)(`previous pictures in the ${app} example`, () => {
    let server: RunningExample;
    let browser: Browser;
    let signed: SignedInPage;
    let photos: Buffer[];

    beforeAll(async () => {
      await clearScreenshots(prefix);
      [server, browser, ...photos] = await Promise.all([startExample(app), launchChromium(), portraitJpeg(WARM), portraitJpeg(COOL)]);
      signed = await signedInPage(browser, server, 'grace_hopper');
    });

    afterAll(async () => {
      await signed?.context.close();
      await browser?.close();
      await server?.stop();
    });

    it('two uploads, then "Use this picture" brings the first back: its URL, its pixels, its objects', async () => {
      const { page, errors } = signed;
      const upload = async (photo: Buffer) => {
        await chooseFile(page, { name: 'portrait.jpg', mimeType: 'image/jpeg', buffer: photo });
        await page.locator(`${WIDGET}[state="selected"]`).waitFor({ state: 'attached' });
        await page.locator(`${WIDGET} .upload`).click();
        await page.locator(`${WIDGET}[state="done"]`).waitFor({ state: 'attached', timeout: 20_000 });
        const record = server.userRow('grace_hopper')!.picture!;
        // "done" comes before the page script swaps the large avatar in: wait for the swap before reading its pixels.
        await page.waitForFunction(
          ([selector, src]) => document.querySelector(selector)?.getAttribute('src') === src,
          [LARGE_AVATAR, `/media/${record.variants.lg!.key}`] as const,
        );
        return record;
      };

      await openProfile(page, server);
      expect(await page.locator('.previous').count()).toBe(0); // no previous picture yet: no section
      const first = await upload(photos[0]!);
      const firstSrc = await page.locator(LARGE_AVATAR).getAttribute('src');
      expect(firstSrc).toBe(`/media/${first.variants.lg!.key}`);
      const firstPixel = await skyPixel(page, LARGE_AVATAR);

      // The second upload: the widget swaps the large avatar, and the page script fetches the new list of previous
      // pictures, which now holds the first one.
      const second = await upload(photos[1]!);
      expect(second.version).not.toBe(first.version);
      await page.locator(PREVIOUS).first().waitFor();
      expect(await page.locator(PREVIOUS).count()).toBe(1);
      expect(await page.locator(`${PREVIOUS} img`).getAttribute('src')).toBe(`/media/${first.variants.md!.key}`);
      expect(await skyPixel(page, `${PREVIOUS} img`)).toEqual(firstPixel);
      const secondPixel = await skyPixel(page, LARGE_AVATAR);
      expect(secondPixel).not.toEqual(firstPixel);
      const files = await server.storedFiles();
      expect(files).toHaveLength(8); // both pictures' sm, md, lg and master: the first is kept as a previous picture
      await screenshot(page, `${prefix}-01-two-uploads`);

      // "Use this picture": a form post and a redirect back to the profile page.
      await page.getByRole('button', { name: 'Use this picture' }).click();
      await page.waitForURL(/\/profile\/\?profile_picture=restored$/);
      expect(await page.locator('#flash').textContent()).toContain('Your previous picture is back.');
      expect(await page.locator(LARGE_AVATAR).getAttribute('src')).toBe(firstSrc);
      expect(await skyPixel(page, LARGE_AVATAR)).toEqual(firstPixel);
      expect(await page.locator(`${PREVIOUS} img`).getAttribute('src')).toBe(`/media/${second.variants.md!.key}`);
      expect(await skyPixel(page, `${PREVIOUS} img`)).toEqual(secondPixel); // both load the md variant here
      const restored = server.userRow('grace_hopper')!.picture!;
      expect(restored.variants).toEqual(first.variants);
      expect(restored.version).not.toBe(first.version);
      expect((restored as { history?: Array<{ version: string }> }).history?.map((entry) => entry.version)).toEqual([second.version]);
      expect(await server.storedFiles()).toEqual(files); // no file written or deleted
      await screenshot(page, `${prefix}-02-restored`);

      const post = (version: string) =>
        page.evaluate(async (version) => {
          const response = await fetch('/profile/restore/', { method: 'POST', body: new URLSearchParams({ version }) });
          return { url: response.url, redirected: response.redirected };
        }, version);
      // The same form posted again (a double click): the restore it made is the answer; nothing changes.
      const again = await post(first.version);
      expect(again.redirected).toBe(true);
      expect(again.url).toMatch(/\/profile\/\?profile_picture=restored$/);
      expect(server.userRow('grace_hopper')!.picture!.version).toBe(restored.version);
      // A stale form (a version that is no previous picture, e.g. pruned): a readable message, nothing changed.
      const stale = await post('0b5f1c2e-pruned-version');
      expect(stale.redirected).toBe(true);
      expect(stale.url).toMatch(/\/profile\/\?profile_picture_error=NOT_FOUND$/);
      expect(server.userRow('grace_hopper')!.picture!.version).toBe(restored.version);
      expect(await server.storedFiles()).toEqual(files);
      expect(errors).toEqual([]);
    });
  });
}
