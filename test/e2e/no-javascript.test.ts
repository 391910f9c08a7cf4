/// <reference lib="dom" />
/**
 * With JavaScript off, the Express example still works end to end: the upload widget's fallback is a plain
 * multipart form (the library answers the post with a 303 back to the profile page and a status in the query),
 * and removal asks for confirmation on a page of its own instead of a dialog.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clearScreenshots, hasChromium, launchChromium, loadedImageWidth, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { NOT_AN_IMAGE, portraitJpeg, WARM } from './photos.js';

const USERNAME = 'grace.hopper';

describe.skipIf(!hasChromium)('browser without JavaScript: express-app', () => {
  let server: RunningExample;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let photo: Buffer;
  const snap = (name: string) => screenshot(page, `nojs-${name}`);
  /** Files of the user's current picture on disk: its variants and its master (stored by default). */
  const pictureFiles = async () => (await server.storedFiles()).filter((file) => file.endsWith('.webp') || file.includes('.master.'));

  beforeAll(async () => {
    await clearScreenshots('nojs');
    [server, browser, photo] = await Promise.all([startExample('express-app'), launchChromium(), portraitJpeg(WARM)]);
    context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 820, height: 900 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  it('signs up with the plain form', async () => {
    await page.goto(`${server.url}/signup/`);
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill('cobol-compiler-1959');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/success\//);
    expect(await page.locator('h1').textContent()).toBe(`Welcome, ${USERNAME}!`);
  });

  it('uploads through the fallback form and sees the success message and the picture', async () => {
    await page.goto(`${server.url}/profile/`);
    const input = page.getByLabel('Choose a picture');
    expect(await input.isVisible()).toBe(true); // the widget never upgraded: this is the plain file input
    await snap('profile-form');
    await input.setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await page.waitForURL(/\/profile\/\?profile_picture=uploaded$/);
    expect(await page.getByRole('status').textContent()).toContain('Your new profile picture is saved.');
    // By srcset, on this 1× screen: the 176 px large avatar takes the 256 px variant, the 36 px badge the 64 px one.
    expect(await loadedImageWidth(page, '.profile__current .avatar--lg')).toBe(256);
    const badge = await loadedImageWidth(page, '.account__badge .avatar');
    if (badge !== 64) {
      // Chromium may take a larger candidate it already holds in its memory cache (the srcset rules allow it): then
      // it is the very 256 px object the large avatar loaded, never a third download.
      const sources = await page.$$eval('.profile__current .avatar--lg, .account__badge .avatar', (images) =>
        images.map((image) => (image as HTMLImageElement).currentSrc),
      );
      expect([badge, new Set(sources).size]).toEqual([256, 1]);
    }
    expect(await pictureFiles()).toHaveLength(4); // sm, md, lg and the master
    await snap('profile-uploaded');
  });

  it('shows a readable error for a non-image renamed .jpg and keeps the picture', async () => {
    const before = await pictureFiles();
    await page.getByLabel('Choose a picture').setInputFiles({ name: 'notes.jpg', mimeType: 'image/jpeg', buffer: NOT_AN_IMAGE });
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await page.waitForURL(/profile_picture_error=/);
    const code = new URL(page.url()).searchParams.get('profile_picture_error');
    expect(['NOT_AN_IMAGE', 'UNSUPPORTED_TYPE']).toContain(code);
    expect(await page.getByRole('alert').textContent()).toMatch(
      /not (an image|supported)\. Choose a JPEG, PNG, GIF, BMP or WebP image\./,
    );
    expect(await pictureFiles()).toEqual(before);
    expect(await loadedImageWidth(page, '.profile__current .avatar--lg')).toBe(256);
    await snap('profile-error');
  });

  it('removes the picture after a confirmation page', async () => {
    await page.getByRole('link', { name: 'Remove picture' }).click();
    await page.waitForURL(/\/profile\/remove\/$/);
    await snap('remove-confirm');
    await page.getByRole('button', { name: 'Remove picture' }).click();
    await page.waitForURL(/profile_picture=removed$/);
    expect(await page.getByRole('status').textContent()).toContain('Your profile picture has been removed.');
    expect((await page.locator('.account__badge .avatar').textContent())?.trim()).toBe('G');
    await vi.waitFor(async () => expect(await pictureFiles()).toEqual([])); // deleted just after the answer
    expect(server.userRow(USERNAME)!.picture).toBeNull();
    await snap('profile-removed');
  });
});
