/// <reference lib="dom" />
/**
 * Locking a user's picture from the example's admin page (Express and Koa), and the change limit (Express), in Chromium against the
 * example running as its own process (issue 11 §6): the admin locks a user with a reason through a confirmation step;
 * the list shows it; the user's open page gets the server's refusal in the widget and nothing is stored; their
 * profile page then shows the reason instead of the widget; after *Unlock* they upload again. With
 * `PROFILE_PICTURE_CHANGES=1/60`, a second picture is answered 429 and the widget keeps the file for later.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearScreenshots, hasChromium, launchChromium, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { COOL, portraitJpeg, WARM } from './photos.js';
import { chooseFile, openProfile, signedInPage, uploadAs, type SignedInPage } from './signed-in.js';

const ADMIN = 'ada.admin';
const MEMBER = 'bob.member';
const REASON = 'Reported as impersonation; write to support@example.com.';
const WIDGET = 'profile-picture-upload';

/** The signed-in page's cookies, as a `Cookie` header. */
const cookieOf = async ({ context }: SignedInPage) =>
  (await context.cookies()).map(({ name, value }) => `${name}=${value}`).join('; ');

/** Uploads `photo` as the user of `cookie`, as the widget does (a JSON client); resolves the status. */
async function upload(server: RunningExample, cookie: string, photo: Buffer): Promise<number> {
  const response = await uploadAs(server, cookie, photo);
  await response.body?.cancel();
  return response.status;
}

/** A form post as the user of `cookie`, redirects not followed. */
const post = (server: RunningExample, cookie: string, path: string, fields: Record<string, string>, headers = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { cookie, ...headers },
    redirect: 'manual',
  });

/** Uploads the chosen file through the widget and waits for it to end in `state`. */
async function uploadThroughWidget(page: Page, photo: Buffer, state: 'done' | 'error' | 'selected'): Promise<void> {
  await chooseFile(page, { name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
  await page.locator(`${WIDGET}[state="selected"]`).waitFor({ state: 'attached' });
  await page.locator(`${WIDGET} .upload`).click();
  await page.locator(`${WIDGET}[state="${state}"]`).waitFor({ state: 'attached', timeout: 30_000 });
}

type LockedRecord = { lock?: { reason: string; at: string }; variants: Record<string, unknown> } | null | undefined;
const recordOf = (server: RunningExample, username: string) => server.userRow(username)?.picture as LockedRecord;

describe.skipIf(!hasChromium).each([
  { app: 'express-app' as const, prefix: 'lock' },
  { app: 'koa-app' as const, prefix: 'lock-koa' },
])('admin page: locking a user ($app)', ({ app, prefix }) => {
  const snap = (page: Page, name: string) => screenshot(page, `${prefix}-${name}`);
  let server: RunningExample;
  let browser: Browser;
  let admin: SignedInPage;
  let member: SignedInPage;
  let warm: Buffer;
  let cool: Buffer;

  beforeAll(async () => {
    await clearScreenshots(prefix);
    [server, browser, warm, cool] = await Promise.all([
      startExample(app),
      launchChromium(),
      portraitJpeg(WARM, 800, 600),
      portraitJpeg(COOL, 800, 600),
    ]);
    admin = await signedInPage(browser, server, ADMIN); // the first account: the administrator
    member = await signedInPage(browser, server, MEMBER);
  });

  afterAll(async () => {
    expect(admin?.errors ?? []).toEqual([]);
    await browser?.close();
    await server?.stop();
  });

  it('locks a user with a reason after a confirmation step; their open page is refused, their profile says why', async () => {
    const memberCookie = await cookieOf(member);
    // A picture and a previous one, so the profile page has *Use this picture* to take away.
    expect(await upload(server, memberCookie, warm)).toBe(200);
    expect(await upload(server, memberCookie, cool)).toBe(200);
    const before = recordOf(server, MEMBER);
    const filesBefore = await server.storedFiles();
    await openProfile(member.page, server); // opened before the lock
    expect(await member.page.getByRole('button', { name: 'Use this picture' }).count()).toBe(1);

    const { page } = admin;
    await page.goto(`${server.url}/admin/`);
    const row = page.locator(`tr[data-user="${MEMBER}"]`);
    expect(await row.locator('.admin-users__actions a').allTextContents()).toEqual(['Remove picture', 'Lock picture']);
    await page.getByRole('link', { name: `Lock picture of ${MEMBER}` }).click();
    await page.waitForURL(/\/admin\/confirm\/\?action=lock&user=[^&]+&page=1$/);
    expect(await page.locator('h1').textContent()).toBe(`Lock ${MEMBER}'s profile picture?`);
    const reason = page.getByLabel('Reason (optional)');
    expect(await reason.getAttribute('maxlength')).toBe('500');
    await reason.fill(REASON);
    await snap(page, 'confirm');
    expect(recordOf(server, MEMBER)?.lock).toBeUndefined(); // opening the step changes nothing

    await page.getByRole('button', { name: 'Lock picture' }).click();
    await page.waitForURL(/\/admin\/\?page=1&done=lock&user=/);
    expect(await page.getByRole('status').first().textContent()).toContain(`${MEMBER}'s profile picture is locked.`);
    expect(await row.locator('[data-locked]').textContent()).toBe(`Locked: ${REASON}`);
    expect(await row.locator('.admin-users__actions a').allTextContents()).toEqual(['Remove picture', 'Unlock picture']);
    expect(await page.locator(`tr[data-user="${ADMIN}"] [data-locked]`).count()).toBe(0);
    expect(recordOf(server, MEMBER)?.lock?.reason).toBe(REASON);
    expect(recordOf(server, MEMBER)?.variants).toEqual(before?.variants); // a lock is not a removal
    await snap(page, 'badge');
    // The table keeps to its card on a desktop: the reason wraps in its cell, the two buttons stack.
    expect(await page.locator('.table-scroll').evaluate((box) => box.scrollWidth <= box.clientWidth)).toBe(true);

    // The page the user opened before the lock: the widget shows the server's refusal; nothing is stored.
    await uploadThroughWidget(member.page, warm, 'error');
    expect(await member.page.locator(`${WIDGET} .error`).textContent()).toBe(`Your profile picture is locked: ${REASON}`);
    expect(await server.storedFiles()).toEqual(filesBefore);
    expect(recordOf(server, MEMBER)?.variants).toEqual(before?.variants);
    // Bringing back the previous picture is refused too, without JavaScript.
    const previous = await member.page.locator('input[name="version"]').getAttribute('value');
    const restore = await post(server, memberCookie, '/profile/restore/', { version: previous as string });
    expect(restore.headers.get('location')).toBe('/profile/?profile_picture_error=LOCKED');

    // Their profile page now says why, instead of the widget and the *Use this picture* buttons.
    await member.page.goto(`${server.url}/profile/`);
    const notice = member.page.locator('[data-locked-notice]');
    expect(await notice.locator('strong').textContent()).toBe(`Your profile picture is locked: ${REASON}`);
    expect(await member.page.locator(WIDGET).count()).toBe(0);
    expect(await member.page.locator('input[type="file"]').count()).toBe(0);
    expect(await member.page.getByRole('button', { name: 'Use this picture' }).count()).toBe(0);
    expect(await member.page.locator('.previous__item img').count()).toBe(1); // still listed
    expect(await member.page.locator('[data-remove-picture]').isVisible()).toBe(true); // removing stays allowed
    await snap(member.page, 'profile');
    await member.page.setViewportSize({ width: 390, height: 844 });
    expect(await member.page.evaluate(() => document.documentElement.scrollWidth)).toBe(390);
    await snap(member.page, 'profile-phone');
    await member.page.setViewportSize({ width: 1000, height: 1000 });
  });

  it('keeps the reason to 500 characters and refuses a cross-site post', async () => {
    const adminCookie = await cookieOf(admin);
    const id = server.userRow(ADMIN)?.id as string;
    const long = await post(server, adminCookie, '/admin/confirm/', { action: 'lock', user: id, page: '1', reason: 'x'.repeat(501) });
    expect(long.status).toBe(400);
    const text = await long.text();
    expect(text).toContain('At most 500 characters; this has 501.');
    expect(text).toContain('x'.repeat(501)); // kept in the field
    expect(recordOf(server, ADMIN)).toBeNull();

    // A user without a picture, locked without a reason: the lock is all their record holds (a tombstone, which
    // pictures.get() answers as null), and the list still shows it.
    const locked = await post(server, adminCookie, '/admin/confirm/', { action: 'lock', user: id, page: '1', reason: '  ' });
    expect(locked.status).toBe(303);
    expect(recordOf(server, ADMIN)).toMatchObject({ variants: {}, lock: { reason: '' } });
    await admin.page.goto(`${server.url}/admin/`);
    const row = admin.page.locator(`tr[data-user="${ADMIN}"]`);
    expect(await row.locator('[data-picture-cell]').textContent()).toBe('No pictureLocked');
    expect(await row.locator('.admin-users__actions a').allTextContents()).toEqual(['Unlock picture']);
    expect((await post(server, adminCookie, '/admin/confirm/', { action: 'unlock', user: id, page: '1' })).status).toBe(303);
    expect(recordOf(server, ADMIN)).toBeNull();

    const memberId = server.userRow(MEMBER)?.id as string;
    const crossSite = await post(server, adminCookie, '/admin/confirm/', { action: 'unlock', user: memberId, page: '1' }, {
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    expect(recordOf(server, MEMBER)?.lock?.reason).toBe(REASON);
    // Nor may the user unlock themself.
    const own = await post(server, await cookieOf(member), '/admin/confirm/', { action: 'unlock', user: memberId, page: '1' });
    expect(own.status).toBe(403);
    expect(recordOf(server, MEMBER)?.lock?.reason).toBe(REASON);
  });

  it('unlocks after a confirmation step; the user uploads through the widget again', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/admin/`);
    await page.getByRole('link', { name: `Unlock picture of ${MEMBER}` }).click();
    await page.waitForURL(/\/admin\/confirm\/\?action=unlock&/);
    expect(await page.locator('[data-current-lock]').textContent()).toMatch(new RegExp(`^Locked since .+: ${REASON.replace(/[.]/g, '\\.')}$`));
    expect(await page.getByLabel('Reason (optional)').count()).toBe(0);
    await snap(page, 'unlock-confirm');
    await page.getByRole('button', { name: 'Unlock picture' }).click();
    await page.waitForURL(/\/admin\/\?page=1&done=unlock&user=/);
    expect(await page.getByRole('status').first().textContent()).toContain(`${MEMBER} can change their profile picture again.`);
    expect(await page.locator(`tr[data-user="${MEMBER}"] [data-locked]`).count()).toBe(0);
    expect(recordOf(server, MEMBER)?.lock).toBeUndefined();

    const version = server.userRow(MEMBER)?.picture?.version;
    await openProfile(member.page, server);
    expect(await member.page.locator('[data-locked-notice]').count()).toBe(0);
    await uploadThroughWidget(member.page, warm, 'done');
    expect(server.userRow(MEMBER)?.picture?.version).not.toBe(version);
    expect(member.errors).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('example: PROFILE_PICTURE_CHANGES', () => {
  const snap = (page: Page, name: string) => screenshot(page, `lock-${name}`);
  let server: RunningExample;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startExample('express-app', { PROFILE_PICTURE_CHANGES: '1/60' }), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('answers a second picture within the hour 429 with the wait; the widget keeps the file', async () => {
    const [warm, cool] = await Promise.all([portraitJpeg(WARM, 800, 600), portraitJpeg(COOL, 800, 600)]);
    const user = await signedInPage(browser, server, 'carol.changes');
    await openProfile(user.page, server);
    await uploadThroughWidget(user.page, warm, 'done');
    const version = server.userRow('carol.changes')?.picture?.version;
    const files = await server.storedFiles();

    await uploadThroughWidget(user.page, cool, 'selected');
    expect(await user.page.locator(`${WIDGET} .error`).textContent()).toMatch(
      /^You have changed your profile picture too often; try again in (60|59) minutes\.$/,
    );
    expect(await user.page.locator(`${WIDGET} .preview img`).isVisible()).toBe(true);
    expect(await user.page.locator(`${WIDGET} .upload`).isVisible()).toBe(true);
    expect(server.userRow('carol.changes')?.picture?.version).toBe(version);
    expect(await server.storedFiles()).toEqual(files);
    await snap(user.page, 'too-many-changes');

    // The router sends the wait as Retry-After too.
    const response = await uploadAs(server, await cookieOf(user), cool);
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(59 * 60);
    expect((await response.json()).error.code).toBe('TOO_MANY_CHANGES');
    expect(user.errors).toEqual([]);
  });
});
