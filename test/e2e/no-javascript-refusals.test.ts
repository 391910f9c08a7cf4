/// <reference lib="dom" />
/**
 * With JavaScript off, a picture change the server refuses for the user's state says why, as the widget does from the
 * JSON answer: `TOO_MANY_CHANGES` with the wait ("try again in 5 minutes", from `details.retryAfter`) and `LOCKED`
 * with the admin's reason, shown as text (escaped), on the Express and the Koa example — after an upload and after
 * *Use this picture* (the app's restore route). The library's redirect names only the code; the apps keep the message
 * in the session for the next profile page (shared/refusal-notice.js), and only for the user it was refused to: the
 * next account signed in with the same browser never sees it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearScreenshots, hasChromium, launchChromium, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { COOL, portraitJpeg, WARM } from './photos.js';
import { signedInPage, type SignedInPage } from './signed-in.js';

const ADMIN = 'ada.admin';
const MEMBER = 'bob.member';
/** Signs in after the member in the member's browser. */
const NEXT_USER = 'cy.next';
const WAIT_5_MINUTES = 'You have changed your profile picture too often; try again in 5 minutes.';
/** Markup and quotes in the admin's words must reach the user as text. */
const REASON = 'Reported as <b>impersonation</b> & "spam"; write to support.';

describe.skipIf(!hasChromium).each([{ app: 'express-app' as const }, { app: 'koa-app' as const }])(
  'browser without JavaScript: refusals say why ($app)',
  ({ app }) => {
    let server: RunningExample;
    let browser: Browser;
    let admin: SignedInPage;
    let member: SignedInPage;
    let warm: Buffer;
    let cool: Buffer;

    beforeAll(async () => {
      await clearScreenshots(`refusal-${app}`);
      // Two new pictures per 5 minutes: the third change is refused with a wait of about 5 minutes.
      [server, browser, warm, cool] = await Promise.all([
        startExample(app, { PROFILE_PICTURE_CHANGES: '2/5' }),
        launchChromium(),
        portraitJpeg(WARM),
        portraitJpeg(COOL),
      ]);
      admin = await signedInPage(browser, server, ADMIN); // the first account: the administrator
      member = await signedInPage(browser, server, MEMBER, { javaScriptEnabled: false });
      await (await signedInPage(browser, server, NEXT_USER)).context.close(); // the account only
    });

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
    });

    /** Posts the plain upload form with `photo` and waits for the redirect back to the profile page. */
    async function postForm(photo: Buffer): Promise<string> {
      const { page } = member;
      const input = page.getByLabel('Choose a picture');
      expect(await input.isVisible()).toBe(true); // no widget: the plain file input
      await input.setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
      await page.getByRole('button', { name: 'Upload picture' }).click();
      await page.waitForURL(/\/profile\/\?profile_picture/);
      return new URL(page.url()).search;
    }

    it('a change over the limit: the flash says how long to wait, and the picture stays', async () => {
      await member.page.goto(`${server.url}/profile/`);
      expect(await postForm(warm)).toBe('?profile_picture=uploaded');
      expect(await postForm(cool)).toBe('?profile_picture=uploaded');
      const version = server.userRow(MEMBER)?.picture?.version;
      expect(await postForm(warm)).toBe('?profile_picture_error=TOO_MANY_CHANGES');
      expect(await member.page.getByRole('alert').locator('p').textContent()).toBe(WAIT_5_MINUTES);
      expect(server.userRow(MEMBER)?.picture?.version).toBe(version);
      await screenshot(member.page, `refusal-${app}-changes`);
      // Shown once: the same address again words the code alone.
      await member.page.reload();
      expect(await member.page.getByRole('alert').locator('p').textContent()).toBe(
        'You have changed your profile picture too often; try again later.',
      );
    });

    it('Use this picture over the limit: the restore route redirects, and the page says how long to wait', async () => {
      await member.page.goto(`${server.url}/profile/`);
      const version = server.userRow(MEMBER)?.picture?.version;
      await member.page.getByRole('button', { name: 'Use this picture' }).click(); // the warm one, the previous picture
      await member.page.waitForURL(/\/profile\/\?profile_picture/);
      expect(new URL(member.page.url()).search).toBe('?profile_picture_error=TOO_MANY_CHANGES');
      expect(await member.page.getByRole('alert').locator('p').textContent()).toBe(WAIT_5_MINUTES);
      expect(server.userRow(MEMBER)?.picture?.version).toBe(version);
      await screenshot(member.page, `refusal-${app}-restore`);
    });

    it('a change after an admin locked the user: the flash gives the reason, as text', async () => {
      const cookie = (await admin.context.cookies()).map(({ name, value }) => `${name}=${value}`).join('; ');
      const id = server.userRow(MEMBER)?.id as string;
      const locked = await fetch(`${server.url}/admin/confirm/`, {
        method: 'POST',
        body: new URLSearchParams({ action: 'lock', user: id, page: '1', reason: REASON }),
        headers: { cookie },
        redirect: 'manual',
      });
      expect(locked.status).toBe(303);
      // The member's page was opened before the lock: its form is still there, and the server refuses the post.
      expect(await postForm(warm)).toBe('?profile_picture_error=LOCKED');
      const flash = member.page.getByRole('alert').locator('p');
      expect(await flash.textContent()).toBe(`Your profile picture is locked: ${REASON}`);
      expect(await flash.locator('b').count()).toBe(0); // escaped, not markup
      await screenshot(member.page, `refusal-${app}-locked`);
    });

    it('a crafted address cannot put words on the page: only the code is read from it', async () => {
      await member.page.goto(`${server.url}/profile/?profile_picture_error=LOCKED&reason=${encodeURIComponent('Pay at evil.example')}`);
      expect(await member.page.getByRole('alert').locator('p').textContent()).toBe('Your profile picture is locked and cannot be changed.');
    });

    it("a refusal's words left in the session are not shown to the next user signed in with the same browser", async () => {
      // The member's locked upload is refused and its reason kept, but the profile page it redirects to is not opened.
      const refused = await member.context.request.post(`${server.url}/upload-profile-picture/`, {
        multipart: { profile_picture: { name: 'me.jpg', mimeType: 'image/jpeg', buffer: warm } },
        headers: { accept: 'text/html', origin: server.url },
        maxRedirects: 0,
      });
      expect([refused.status(), refused.headers().location]).toEqual([303, '/profile/?profile_picture_error=LOCKED']);
      // Another account signs in with the same browser (no logout), and opens an address naming the same code.
      const { page } = member;
      await page.goto(`${server.url}/login/`);
      await page.getByLabel('Username').fill(NEXT_USER);
      await page.getByLabel('Password').fill(`${NEXT_USER}-password-1969`);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/success\//);
      await page.goto(`${server.url}/profile/?profile_picture_error=LOCKED`);
      expect(await page.getByRole('alert').locator('p').textContent()).toBe('Your profile picture is locked and cannot be changed.');
      expect(await page.content()).not.toContain('impersonation');
    });
  },
);
