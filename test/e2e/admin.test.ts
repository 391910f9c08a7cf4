/// <reference lib="dom" />
/**
 * The Express example's admin page (issue 11 §6) in Chromium, against the example running as its own process: who
 * may open it (ADMIN_USERS, default the first account), stats that match what storage and the database hold, the
 * accounts paged 20 at a time, removing a user's picture through a confirmation step, and *Regenerate all* after a
 * size change (the app restarted on the same data with PROFILE_PICTURE_VARIANTS), with its live progress bar.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearScreenshots, collectPageErrors, hasChromium, launchChromium, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { portraitJpeg, WARM } from './photos.js';
import { signedInPage, uploadAs } from './signed-in.js';

const ADMIN = 'ada.admin';
const MEMBER = 'bob.member';
const password = (username: string) => `${username}-password-1969`;

/** Posts the sign-up or login form for `username`, as the page does, and returns the session cookie it sets. */
async function postAuthForm(server: RunningExample, form: 'signup' | 'login', username: string): Promise<string> {
  const response = await fetch(`${server.url}/${form}/`, {
    method: 'POST',
    body: new URLSearchParams({ username, password: password(username) }),
    redirect: 'manual',
  });
  expect(response.status).toBe(303);
  return sessionCookie(response);
}
const signUp = (server: RunningExample, username: string) => postAuthForm(server, 'signup', username);
const logIn = (server: RunningExample, username: string) => postAuthForm(server, 'login', username);

/** The cookies a response sets, as a `Cookie` header (Express: `portrait.sid`; Koa: `portrait.sess` and its signature). */
function sessionCookie(response: Response): string {
  const cookies = response.headers.getSetCookie().map((line) => line.split(';')[0]);
  if (cookies.length === 0) throw new Error('no session cookie');
  return cookies.join('; ');
}

/** Uploads `photo` as the signed-in user of `cookie`, as the widget does (a JSON client). */
async function upload(server: RunningExample, cookie: string, photo: Buffer): Promise<void> {
  const response = await uploadAs(server, cookie, photo);
  expect(response.status, await response.clone().text()).toBe(200);
}

/** A POST of the admin page's forms, as the signed-in user of `cookie`; resolves the response (redirects not followed). */
const post = (server: RunningExample, cookie: string, path: string, fields: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { cookie }, redirect: 'manual' });

/** The numbers the stats card shows, by `data-stat`. */
async function shownStats(page: Page): Promise<Record<string, number>> {
  return page.locator('[data-stat]').evaluateAll((elements) =>
    Object.fromEntries(elements.map((element) => [element.getAttribute('data-stat'), Number(element.getAttribute('data-value'))])),
  );
}

/**
 * Runs `during` while the page's next status poll waits, so the progress shown does not move meanwhile; skips it when
 * the run ended before a poll could be held (then the page shows the end, not a moment mid-way).
 */
async function whileStatusHeld(page: Page, during: () => Promise<void>): Promise<void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let caught!: () => void;
  const held = new Promise<boolean>((resolve) => {
    caught = () => resolve(true);
    setTimeout(() => resolve(false), 3_000);
  });
  await page.route('**/admin/regenerate/status', async (route) => {
    caught();
    await released;
    await route.continue().catch(() => {}); // the page may be gone by then
  });
  try {
    const running = (await held) && (await page.locator('[data-regenerate]').getAttribute('data-state')) === 'running';
    if (running) await during();
  } finally {
    release();
    await page.unrouteAll({ behavior: 'wait' });
  }
}

/** Usernames of the list's rows, in order. */
const listedUsers = (page: Page) => page.locator('tr[data-user]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-user')));

describe.skipIf(!hasChromium).each([
  { app: 'express-app' as const, prefix: 'admin' },
  { app: 'koa-app' as const, prefix: 'admin-koa' },
])('admin page: $app', ({ app, prefix }) => {
  let server: RunningExample;
  let browser: Browser;
  let photo: Buffer;
  let admin: { context: BrowserContext; page: Page; errors: string[] };
  let adminCookie: string;
  const snap = (page: Page, name: string) => screenshot(page, `${prefix}-${name}`);

  beforeAll(async () => {
    await clearScreenshots(prefix);
    [server, browser, photo] = await Promise.all([startExample(app), launchChromium(), portraitJpeg(WARM, 800, 600)]);
    // The first account: the administrator while ADMIN_USERS is unset.
    admin = await signedInPage(browser, server, ADMIN);
    adminCookie = (await admin.context.cookies()).map(({ name, value }) => `${name}=${value}`).join('; ');
  });

  afterAll(async () => {
    expect(admin?.errors ?? []).toEqual([]);
    await admin?.context.close();
    await browser?.close();
    await server?.stop();
  });

  it('sends signed-out visitors to log in and answers other accounts 403', async () => {
    const signedOut = await fetch(`${server.url}/admin/`, { redirect: 'manual' });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/login/');

    const member = await signedInPage(browser, server, MEMBER);
    const response = await member.page.goto(`${server.url}/admin/`);
    expect(response?.status()).toBe(403);
    expect(await member.page.locator('h1').textContent()).toBe('This page is for administrators');
    expect(await member.page.getByRole('link', { name: 'Admin', exact: true }).count()).toBe(0);
    await snap(member.page, 'forbidden');
    expect(member.errors).toEqual([]);
    await member.context.close();

    // The actions too, not only the page: nothing starts, nothing is removed.
    const memberCookie = await logIn(server, MEMBER);
    expect((await post(server, memberCookie, '/admin/regenerate/')).status).toBe(403);
    const status = await fetch(`${server.url}/admin/regenerate/status`, { headers: { cookie: memberCookie } });
    expect(status.status).toBe(403);
    expect((await fetch(`${server.url}/admin/regenerate/status`, { headers: { cookie: adminCookie } })).status).toBe(200);
  });

  it('shows stats that match what storage and the database hold', async () => {
    await upload(server, adminCookie, photo);
    await upload(server, await logIn(server, MEMBER), photo);
    const files = await server.storedFiles();
    const bytes = (await Promise.all(files.map((file) => stat(join(server.mediaDir, file))))).reduce((sum, s) => sum + s.size, 0);

    const { page } = admin;
    await page.goto(`${server.url}/admin/`);
    expect(await page.locator('.nav').getByRole('link', { name: 'Admin', exact: true }).getAttribute('aria-current')).toBe('page');
    const stats = await shownStats(page);
    expect([server.userRow(ADMIN)?.picture, server.userRow(MEMBER)?.picture].every(Boolean)).toBe(true);
    expect(stats).toEqual({
      accounts: 2,
      users: 2,
      objects: files.length,
      bytes,
      'variant-sm': 2,
      'variant-md': 2,
      'variant-lg': 2,
      masters: 2, // the example keeps the library's default: a master per picture, which regenerate() renders from
      orphans: 0,
      missing: 0,
    });
    expect(files).toHaveLength(8); // 3 variants and a master per picture
    expect(files.filter((file) => file.includes('.master.'))).toHaveLength(2);
    expect(await page.locator('.page-head .muted').textContent()).toBe('2 accounts, 2 with a profile picture.');
    expect(await listedUsers(page)).toEqual([ADMIN, MEMBER]);
    await snap(page, 'overview');
    // On a phone the cards stack and the table scrolls sideways within its card, not the page.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBe(390);
    await snap(page, 'phone');
    await page.setViewportSize({ width: 1000, height: 1000 });
  });

  it('pages the accounts 20 at a time, in sign-up order', async () => {
    const more = Array.from({ length: 21 }, (_, i) => `user.${String(i + 1).padStart(2, '0')}`);
    for (const username of more) await signUp(server, username); // one after another: sign-up order is known
    const everyone = [ADMIN, MEMBER, ...more];

    const { page } = admin;
    await page.goto(`${server.url}/admin/`);
    expect(await listedUsers(page)).toEqual(everyone.slice(0, 20));
    expect(await page.locator('.pager__where').textContent()).toBe('Page 1 of 2');
    await page.getByRole('link', { name: 'Next' }).click();
    await page.waitForURL(/\/admin\/\?page=2$/);
    expect(await listedUsers(page)).toEqual(everyone.slice(20));
    expect(await page.locator('.pager__where').textContent()).toBe('Page 2 of 2');
    expect(await page.getByRole('link', { name: 'Next' }).count()).toBe(0); // the last page: not a link
    await snap(page, 'page-2');
    // A page past the end shows the last one; a malformed one the first.
    await page.goto(`${server.url}/admin/?page=9`);
    expect(await listedUsers(page)).toEqual(everyone.slice(20));
    await page.goto(`${server.url}/admin/?page=abc`);
    expect(await listedUsers(page)).toEqual(everyone.slice(0, 20));
  });

  it("removes a user's picture after a confirmation step", async () => {
    const { page } = admin;
    const record = server.userRow(MEMBER)?.picture;
    expect(record).toBeTruthy();
    const lgUrl = `${server.url}/media/${record?.variants.lg?.key}`;
    expect((await fetch(lgUrl)).status).toBe(200);

    await page.goto(`${server.url}/admin/`);
    // Only users with a picture are offered the action (a lock, admin-lock.test.ts, is offered to everyone).
    expect(await page.locator(`tr[data-user="user.01"] .admin-users__actions a`).allTextContents()).toEqual(['Lock picture']);
    await page.getByRole('link', { name: `Remove picture of ${MEMBER}` }).click();
    await page.waitForURL(/\/admin\/confirm\/\?action=remove&user=[^&]+&page=1$/);
    expect(await page.locator('h1').textContent()).toBe(`Remove ${MEMBER}'s profile picture?`);
    await snap(page, 'confirm');
    // Opening the confirmation step changes nothing.
    expect(server.userRow(MEMBER)?.picture?.version).toBe(record?.version);

    await page.getByRole('button', { name: 'Remove picture' }).click();
    await page.waitForURL(/\/admin\/\?page=1&done=remove&user=/);
    expect(await page.getByRole('status').first().textContent()).toContain(`${MEMBER}'s profile picture has been removed.`);
    const row = page.locator(`tr[data-user="${MEMBER}"]`);
    expect(await row.locator('[data-picture-cell]').textContent()).toBe('No picture');
    expect(await row.locator('.avatar--letter svg').count()).toBe(1); // the initials placeholder
    expect(server.userRow(MEMBER)?.picture).toBeNull();
    await expect.poll(async () => (await fetch(lgUrl)).status).toBe(404);
    await expect.poll(async () => (await server.storedFiles()).length).toBe(4); // the admin's picture only, with its master
    // The admin's own picture is untouched.
    expect(server.userRow(ADMIN)?.picture).toBeTruthy();
    expect((await shownStats(page)).users).toBe(1);
    await snap(page, 'removed');
  });

  it('refuses a cross-site post of the confirmation form', async () => {
    const id = server.userRow(ADMIN)?.id as string;
    const response = await fetch(`${server.url}/admin/confirm/`, {
      method: 'POST',
      body: new URLSearchParams({ action: 'remove', user: id, page: '1' }),
      headers: { cookie: adminCookie, origin: 'https://evil.example' },
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
    expect(server.userRow(ADMIN)?.picture).toBeTruthy();
  });
});

describe.skipIf(!hasChromium)('admin page: Regenerate all after a size change', () => {
  const USERS = ['ada.admin', ...Array.from({ length: 9 }, (_, i) => `sitter.${i + 1}`)];
  const SIZES = { sm: 48, md: 200, lg: 400 };
  let dir: string;
  let server: RunningExample;
  let browser: Browser;
  const oldKeys: string[] = [];
  const snap = (page: Page, name: string) => screenshot(page, `admin-${name}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pp-e2e-admin-'));
    const photo = await portraitJpeg(WARM);
    // Pictures uploaded with the default sizes (64, 256, 512)…
    const before = await startExample('express-app', {}, { dir });
    try {
      for (const username of USERS) await upload(before, await signUp(before, username), photo);
      for (const username of USERS) oldKeys.push(before.userRow(username)?.picture?.variants.lg?.key as string);
    } finally {
      await before.stop();
    }
    // …then the app restarted on the same data with smaller ones: every record is stale.
    const variants = Object.entries(SIZES).map(([name, side]) => `${name}:${side}`).join(',');
    [server, browser] = await Promise.all([
      startExample('express-app', { PROFILE_PICTURE_VARIANTS: variants, ADMIN_USERS: ' ADA.admin ' }, { dir }),
      launchChromium(),
    ]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says a run is going on, stops one, and continues it from the page with a live progress bar', async () => {
    expect(server.userRow('sitter.1')?.picture?.variants.lg?.width).toBe(512);
    const cookie = await logIn(server, 'ada.admin'); // ADMIN_USERS names it, in another letter case

    // Started by a post; a second post while it runs is told so; Stop ends it early, to be continued.
    const first = await post(server, cookie, '/admin/regenerate/', { page: '1' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/admin/?page=1');
    const second = await post(server, cookie, '/admin/regenerate/', { page: '1' });
    expect(second.headers.get('location')).toBe('/admin/?page=1&regenerate=busy');
    expect((await post(server, cookie, '/admin/regenerate/stop/', { page: '1' })).status).toBe(303);
    const stopped = await (await fetch(`${server.url}/admin/regenerate/status`, { headers: { cookie } })).json();
    expect(stopped).toMatchObject({ state: 'stopped', failed: 0 });
    expect(stopped.scanned).toBeLessThan(USERS.length);
    const done = USERS.filter((username) => server.userRow(username)?.picture?.variants.lg?.width === SIZES.lg).length;
    expect(done).toBe(stopped.regenerated);

    // The page, in Chromium: the bar's values are recorded as the script moves it.
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    await context.addCookies([{ name: 'portrait.sid', value: cookie.split('=')[1] as string, url: server.url }]);
    await context.addInitScript(() => {
      const seen: Array<{ value: number; max: number; state: string }> = [];
      (window as unknown as { __bar: typeof seen }).__bar = seen;
      document.addEventListener('DOMContentLoaded', () => {
        const bar = document.querySelector('progress') as HTMLProgressElement | null;
        const card = document.querySelector('[data-regenerate]') as HTMLElement | null;
        if (!bar || !card) return;
        const record = () => seen.push({ value: bar.value, max: bar.max, state: card.dataset.state ?? '' });
        record();
        new MutationObserver(record).observe(card, { attributes: true, subtree: true });
      });
    });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/admin/`);
    expect(await page.locator('[data-job-text]').textContent()).toMatch(/^Stopped after \d+ of 10 pictures/);
    await snap(page, 'stopped');

    await page.getByRole('button', { name: 'Regenerate all' }).click();
    await page.waitForURL(/\/admin\/\?page=1$/);
    const loadedAs = await page.evaluate(() => (window as unknown as { __bar: Array<{ state: string }> }).__bar[0]?.state);
    // A moment mid-way, for the screenshot: the next status poll is held while it is taken, so the page stays there
    // (the run may be quicker than that on a fast machine: then there is no such moment).
    const midway = await page
      .waitForFunction(() => {
        const bar = document.querySelector('progress');
        return bar && bar.value > 0 && bar.value < bar.max;
      }, undefined, { timeout: 3_000 })
      .then(() => true, () => false);
    if (midway) await whileStatusHeld(page, () => snap(page, 'regenerating'));
    await page.locator('[data-regenerate][data-state="done"]').waitFor();
    const text = await page.locator('[data-job-text]').textContent();
    const regenerated = USERS.length - stopped.regenerated;
    expect(text).toBe(`Done: ${USERS.length} pictures checked, ${regenerated} regenerated, ${stopped.regenerated} skipped, 0 failed.`);
    expect(await page.locator('progress').evaluate((bar: HTMLProgressElement) => [bar.value, bar.max])).toEqual([10, 10]);
    // The bar moved without a reload when the page loaded mid-run (`__bar` survives only within one document).
    const seen = await page.evaluate(() => (window as unknown as { __bar: Array<{ value: number; state: string }> }).__bar);
    if (loadedAs === 'running') expect(seen.at(-1)?.state).toBe('done');
    expect(await page.getByRole('button', { name: 'Regenerate all' }).isEnabled()).toBe(true);
    expect(await page.locator('[data-job-stop]').isHidden()).toBe(true);
    // The list and the stats were refreshed in place: the new pictures, one of each variant per user.
    await expect
      .poll(() => page.locator('tr[data-user="sitter.1"] img').getAttribute('srcset'))
      .toMatch(/ 48w, .* 200w, .* 400w$/);
    expect(await shownStats(page)).toMatchObject({ users: 10, 'variant-sm': 10, 'variant-md': 10, 'variant-lg': 10 });
    expect(await page.evaluate(() => (window as unknown as { __bar?: unknown }).__bar !== undefined)).toBe(true); // no reload
    await snap(page, 'regenerated');
    expect(errors).toEqual([]);

    // Every record has the new sizes, and the objects are what they say.
    for (const username of USERS) {
      const record = server.userRow(username)?.picture;
      expect(Object.fromEntries(Object.entries(record?.variants ?? {}).map(([name, v]) => [name, v.width]))).toEqual(SIZES);
      const response = await fetch(`${server.url}/media/${record?.variants.lg?.key}`);
      expect(response.status).toBe(200);
      const { width, height, format } = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      expect({ width, height, format }).toEqual({ width: 400, height: 400, format: 'webp' });
    }
    for (const key of oldKeys) await expect.poll(async () => (await fetch(`${server.url}/media/${key}`)).status).toBe(404);
    await context.close();
  }, 120_000);

  it('works without JavaScript: the post starts a run, a reload shows where it is', async () => {
    const cookie = await logIn(server, 'ada.admin');
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 900 } });
    await context.addCookies([{ name: 'portrait.sid', value: cookie.split('=')[1] as string, url: server.url }]);
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/`);
    await page.getByRole('button', { name: 'Regenerate all' }).click();
    await page.waitForURL(/\/admin\/\?page=1$/);
    // Everything is up to date now: the run only checks, and says so.
    const final = `Done: ${USERS.length} pictures checked, 0 regenerated, ${USERS.length} skipped, 0 failed.`;
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('[data-job-text]').textContent();
      })
      .toBe(final);
    expect(await page.locator('progress').evaluate((bar: HTMLProgressElement) => [bar.value, bar.max])).toEqual([10, 10]);
    await snap(page, 'nojs-done');
    await context.close();
  });
});
