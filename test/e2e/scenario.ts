/// <reference lib="dom" />
/**
 * The core browser scenario, run against each example app (Express and Koa) in real Chromium: sign up → letter
 * avatar → upload through the file chooser with a progress bar → the picture everywhere → replace by drag and drop
 * (old files deleted) → a non-image refused in the browser, a damaged JPEG refused by the server (old picture kept)
 * → remove after confirming → a logged-out user cannot upload. The steps share one browser page and run in order.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  clearScreenshots,
  collectPageErrors,
  hasChromium,
  interceptFileChoosers,
  launchChromium,
  loadedImageWidth,
  screenshot,
} from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { COOL, NOT_AN_IMAGE, portraitJpeg, truncated, WARM } from './photos.js';

const USERNAME = 'ada_lovelace';
const PASSWORD = 'analytical-engine-1843';
const WIDGET = 'profile-picture-upload';
const ZONE = `${WIDGET} .zone`;
const LARGE_AVATAR = '.profile__current .avatar--lg';
const HEADER_AVATAR = '.account__badge .avatar';

/** Registers the scenario for one example app. */
export function describeBrowserScenario(app: 'express-app' | 'koa-app'): void {
  const prefix = app.replace('-app', '');

  describe.skipIf(!hasChromium)(`browser scenario: ${app}`, () => {
    let server: RunningExample;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let pageErrors: string[];
    let warm: Buffer;
    let cool: Buffer;
    let shot = 0;
    const snap = (name: string) => screenshot(page, `${prefix}-${String(++shot).padStart(2, '0')}-${name}`);

    /** Files of the user's current picture on disk: its variants and its master (stored by default). */
    const pictureFiles = async () => (await server.storedFiles()).filter((file) => file.endsWith('.webp') || file.includes('.master.'));

    /** Starts recording the widget's events; `events()` returns them. */
    const recordWidgetEvents = () =>
      page.evaluate(() => {
        const log: Array<{ type: string; detail: unknown }> = [];
        (window as unknown as { __events: typeof log }).__events = log;
        for (const type of ['select', 'progress', 'uploaded', 'error']) {
          document.addEventListener(`profile-picture:${type}`, (event) => {
            log.push({ type, detail: (event as CustomEvent).detail });
          });
        }
      });
    const widgetEvents = () =>
      page.evaluate(() => (window as unknown as { __events: Array<{ type: string; detail: any }> }).__events);

    const openProfile = async () => {
      await page.goto(`${server.url}/profile/`);
      await page.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
      await recordWidgetEvents();
    };

    const chooseFile = async (file: { name: string; mimeType: string; buffer: Buffer }) => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator(ZONE).click()]);
      await chooser.setFiles(file);
    };

    const waitForState = (state: string) =>
      page.locator(`${WIDGET}[state="${state}"]`).waitFor({ state: 'attached', timeout: 20_000 });

    beforeAll(async () => {
      await clearScreenshots(prefix);
      [server, browser, warm, cool] = await Promise.all([
        startExample(app, { PROFILE_PICTURE_HISTORY: '0' }), // replaced pictures' files go at once (history: history.test.ts)
        launchChromium(),
        portraitJpeg(WARM),
        portraitJpeg(COOL),
      ]);
      context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
      page = await context.newPage();
      interceptFileChoosers(page);
      pageErrors = collectPageErrors(page);
    });

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await server?.stop();
    });

    it('signs up and lands on the welcome page', async () => {
      await page.goto(`${server.url}/signup/`);
      await snap('signup');
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL(/\/success\//);
      expect(await page.locator('h1').textContent()).toBe(`Welcome, ${USERNAME}!`);
      expect(server.userRow(USERNAME)).toMatchObject({ picture: null });
    });

    it('shows the first letter of the username as the dashboard avatar', async () => {
      await page.goto(`${server.url}/dashboard/`);
      const badge = page.locator(HEADER_AVATAR);
      expect(await badge.evaluate((el) => el.tagName)).toBe('SPAN');
      expect((await badge.textContent())?.trim()).toBe('A');
      await snap('dashboard-letter-avatar');
    });

    it('previews a photo chosen in the file chooser and uploads it with a real progress bar', async () => {
      await openProfile();
      await chooseFile({ name: 'portrait.jpg', mimeType: 'image/jpeg', buffer: warm });
      await waitForState('selected');
      expect(await loadedImageWidth(page, `${WIDGET} .preview img`)).toBe(1600);
      expect(await page.locator(`${WIDGET} .status`).textContent()).toContain('portrait.jpg');
      expect(await pictureFiles()).toEqual([]); // nothing is sent before the user confirms
      await snap('profile-preview');

      // Throttle the upload (~0.4 MB at 300 KB/s) so the progress bar is seen moving.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 20,
        downloadThroughput: -1,
        uploadThroughput: 300 * 1024,
      });
      await page.locator(`${WIDGET} .upload`).click();
      await page.locator(`${WIDGET} progress`).waitFor({ state: 'visible' });
      await page.waitForFunction(
        (tag) => (document.querySelector(tag)?.shadowRoot?.querySelector('progress')?.value ?? 0) >= 30,
        WIDGET,
      );
      await snap('profile-uploading');
      await waitForState('done');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();

      const progress = (await widgetEvents()).filter((e) => e.type === 'progress').map((e) => e.detail);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.some((p) => p.loaded > 0 && p.loaded < p.total)).toBe(true);
      expect(progress.at(-1).loaded).toBe(progress.at(-1).total);
      expect(await page.locator(`${WIDGET} progress`).isVisible()).toBe(false);
      expect(await page.locator(`${WIDGET} .status`).textContent()).toBe('Your profile picture has been updated.');

      // The page swapped its avatars in place, and they load from the library's media route: by their srcset, the
      // 176 px large avatar takes the 256 px variant on this 1× screen.
      expect(await loadedImageWidth(page, LARGE_AVATAR)).toBe(256);
      expect(await loadedImageWidth(page, HEADER_AVATAR)).toBe(64);
      expect(await page.locator(LARGE_AVATAR).getAttribute('src')).toMatch(/^\/media\/profile_pictures\/.+-lg\.webp$/);

      const row = server.userRow(USERNAME)!;
      expect(Object.keys(row.picture!.variants).sort()).toEqual(['lg', 'md', 'sm']);
      expect(await pictureFiles()).toEqual([...Object.values(row.picture!.variants), row.picture!.master!].map((v) => v.key).sort());
      await snap('profile-uploaded');
    });

    it('shows the picture in the dashboard header and on the success page', async () => {
      await page.goto(`${server.url}/dashboard/`);
      // Its srcset asks for 64 px at least; Chromium takes a larger candidate it already holds (the profile page's 256).
      expect([64, 256]).toContain(await loadedImageWidth(page, `${HEADER_AVATAR}`));
      expect(await loadedImageWidth(page, '.card .avatar--md')).toBe(256);
      await snap('dashboard-picture');
      await page.goto(`${server.url}/success/`);
      expect(await loadedImageWidth(page, '.welcome .avatar--md')).toBe(256);
      expect(await page.locator('.welcome img').getAttribute('alt')).toBe(`Profile picture of ${USERNAME}`);
      await snap('success-picture');
    });

    it('fits a phone-sized screen without horizontal scrolling', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        await openProfile();
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
        const zone = await page.locator(ZONE).boundingBox();
        expect(zone!.x).toBeGreaterThanOrEqual(0);
        expect(zone!.x + zone!.width).toBeLessThanOrEqual(390);
        await snap('profile-phone');
      } finally {
        await page.setViewportSize({ width: 1200, height: 820 });
      }
    });

    it('replaces the picture by drag and drop and deletes the old files from disk', async () => {
      await openProfile();
      const oldFiles = await pictureFiles();
      const oldSrc = await page.locator(LARGE_AVATAR).getAttribute('src');
      const dataTransfer = await page.evaluateHandle((base64) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'new-look.jpg', { type: 'image/jpeg' }));
        return transfer;
      }, cool.toString('base64'));
      const zone = page.locator(ZONE);
      await zone.dispatchEvent('dragenter', { dataTransfer });
      await zone.dispatchEvent('dragover', { dataTransfer });
      expect(await page.locator(WIDGET).getAttribute('dragging')).toBe('');
      await snap('profile-drag-over');
      await zone.dispatchEvent('drop', { dataTransfer });
      await waitForState('selected');
      expect(await page.locator(WIDGET).getAttribute('dragging')).toBeNull();
      await page.locator(`${WIDGET} .upload`).click();
      await waitForState('done');

      // The old files are deleted in the background, just after the answer.
      await vi.waitFor(async () => {
        const newFiles = await pictureFiles();
        expect(newFiles).toHaveLength(4); // sm, md, lg and the master
        expect(newFiles.filter((file) => oldFiles.includes(file))).toEqual([]);
        for (const file of oldFiles) expect(existsSync(join(server.mediaDir, file))).toBe(false);
      });
      expect(await page.locator(LARGE_AVATAR).getAttribute('src')).not.toBe(oldSrc);
      expect(await loadedImageWidth(page, LARGE_AVATAR)).toBe(256);
      await snap('profile-replaced');
    });

    it('refuses a non-image renamed .jpg in the browser, with a readable message, keeping the picture', async () => {
      const filesBefore = await pictureFiles();
      const versionBefore = server.userRow(USERNAME)!.picture!.version;
      const srcBefore = await page.locator(LARGE_AVATAR).getAttribute('src');
      const uploads: string[] = [];
      page.on('request', (request) => request.method() === 'POST' && uploads.push(request.url()));

      // Keyboard: the drop zone is a button; Enter opens the same file chooser.
      await page.locator(ZONE).focus();
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
      await chooser.setFiles({ name: 'holiday.jpg', mimeType: 'image/jpeg', buffer: NOT_AN_IMAGE });
      const error = page.locator(`${WIDGET} .error`);
      await error.waitFor({ state: 'visible' });
      expect(await error.textContent()).toBe('This file is not an image. Choose a JPEG, PNG, GIF, BMP or WebP file.');
      expect(await error.getAttribute('role')).toBe('alert');
      expect((await widgetEvents()).filter((e) => e.type === 'error').map((e) => e.detail.code)).toEqual(['NOT_AN_IMAGE']);
      expect(await page.locator(`${WIDGET} .upload`).isVisible()).toBe(false);
      await snap('profile-not-an-image');

      expect(uploads).toEqual([]);
      expect(await pictureFiles()).toEqual(filesBefore);
      expect(server.userRow(USERNAME)!.picture!.version).toBe(versionBefore);
      expect(await page.locator(LARGE_AVATAR).getAttribute('src')).toBe(srcBefore);
    });

    it("shows the server's refusal of a damaged JPEG and keeps the picture", async () => {
      await openProfile();
      const filesBefore = await pictureFiles();
      const versionBefore = server.userRow(USERNAME)!.picture!.version;
      await chooseFile({ name: 'cut-off.jpg', mimeType: 'image/jpeg', buffer: truncated(warm) });
      await waitForState('selected'); // the signature is fine, so the browser lets the server decide
      await page.locator(`${WIDGET} .upload`).click();
      await waitForState('error');
      const error = (await widgetEvents()).find((e) => e.type === 'error')!.detail;
      expect(error).toMatchObject({ code: 'CORRUPT_IMAGE', status: 422 });
      expect(await page.locator(`${WIDGET} .error`).textContent()).toBe(error.message);
      expect(error.message).toBe('The image is damaged or incomplete.');
      await snap('profile-server-error');

      expect(await pictureFiles()).toEqual(filesBefore);
      expect(server.userRow(USERNAME)!.picture!.version).toBe(versionBefore);
      expect(await loadedImageWidth(page, LARGE_AVATAR)).toBe(256);
    });

    it('removes the picture after confirming in a dialog, deleting its files', async () => {
      await page.goto(`${server.url}/profile/`);
      await page.getByRole('link', { name: 'Remove picture' }).click();
      const dialog = page.getByRole('dialog', { name: 'Remove your profile picture?' });
      await dialog.waitFor({ state: 'visible' });
      await snap('profile-remove-dialog');

      // Cancelling changes nothing.
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      expect(await pictureFiles()).toHaveLength(4);

      await page.getByRole('link', { name: 'Remove picture' }).click();
      await dialog.getByRole('button', { name: 'Remove picture' }).click();
      await page.waitForURL(/profile_picture=removed/);
      expect(await page.locator('.flash--success').textContent()).toContain('Your profile picture has been removed.');
      expect((await page.locator(HEADER_AVATAR).textContent())?.trim()).toBe('A');
      expect(await page.locator(LARGE_AVATAR).evaluate((el) => el.tagName)).toBe('SPAN');
      expect(await page.getByRole('link', { name: 'Remove picture' }).isVisible()).toBe(false);
      await vi.waitFor(async () => expect(await pictureFiles()).toEqual([])); // deleted just after the answer
      expect(server.userRow(USERNAME)!.picture).toBeNull();
      await snap('profile-removed');
    });

    it('does not let a logged-out user upload', async () => {
      await openProfile();
      await context.clearCookies(); // the session ends while the page is open
      await chooseFile({ name: 'portrait.jpg', mimeType: 'image/jpeg', buffer: warm });
      await waitForState('selected');
      await page.locator(`${WIDGET} .upload`).click();
      await waitForState('error');
      expect((await widgetEvents()).find((e) => e.type === 'error')!.detail).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'Sign in to change your profile picture.',
        status: 401,
      });
      expect(await page.locator(`${WIDGET} .error`).textContent()).toBe('Sign in to change your profile picture.');
      expect(await page.locator('#flash').getByRole('link', { name: 'Log in again' }).isVisible()).toBe(true);
      await snap('profile-logged-out-upload');

      // A plain multipart post without a session is refused too, and the pages send the visitor to log in.
      const status = await page.evaluate(async (url) => {
        const form = new FormData();
        form.append('profile_picture', new File([new Uint8Array([0xff, 0xd8, 0xff])], 'x.jpg', { type: 'image/jpeg' }));
        const response = await fetch(`${url}/upload-profile-picture/`, { method: 'POST', body: form });
        return response.status;
      }, server.url);
      expect(status).toBe(401);
      await page.goto(`${server.url}/profile/`);
      expect(new URL(page.url()).pathname).toBe('/login/');
      expect(await pictureFiles()).toEqual([]);
      expect(server.userRow(USERNAME)!.picture).toBeNull();
    });

    it('logs back in and is welcomed with the letter avatar', async () => {
      await page.goto(`${server.url}/login/`);
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      expect(await page.getByRole('alert').textContent()).toContain('Wrong username or password.');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/success\/$/);
      expect(await page.locator('h1').textContent()).toBe(`Welcome back, ${USERNAME}!`);
      expect((await page.locator('.welcome .avatar--md').textContent())?.trim()).toBe('A');
      await snap('login-success');
    });

    it('logged no page errors (no CSP violations, no uncaught exceptions)', () => {
      expect(pageErrors).toEqual([]);
    });
  });
}
