/// <reference lib="dom" />
/**
 * A Chromium page signed in to a running example as a new user, ready for widget tests: file choosers intercepted,
 * page errors collected, and every FormData the pages send recorded (sent-forms.ts).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, interceptFileChoosers } from './browser.js';
import type { RunningExample } from './example-server.js';
import { recordSentForms } from './sent-forms.js';

/** The signed-in page, its context (close it when done) and the page's errors so far. */
export interface SignedInPage {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

/**
 * Opens a 1000 × 1000 context on `browser` and signs up `username` on `server` through its sign-up form; with
 * `javaScriptEnabled: false`, as a browser with JavaScript off (the plain forms).
 * @example
 * ```ts
 * const { context, page, errors } = await signedInPage(browser, server, 'grace.hopper');
 * ```
 */
export async function signedInPage(
  browser: Browser,
  server: RunningExample,
  username: string,
  { javaScriptEnabled = true }: { javaScriptEnabled?: boolean } = {},
): Promise<SignedInPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1000 }, javaScriptEnabled });
  await recordSentForms(context);
  const page = await context.newPage();
  interceptFileChoosers(page);
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/signup/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-password-1969`);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/success\//);
  return { context, page, errors };
}

/** Opens the profile page and waits for the widget to be defined. */
export async function openProfile(page: Page, server: RunningExample): Promise<void> {
  await page.goto(`${server.url}/profile/`);
  await page.waitForFunction((tag) => customElements.get(tag) !== undefined, 'profile-picture-upload');
}

/** Chooses a file in the widget through its file chooser, as a user clicking the drop zone does. */
export async function chooseFile(page: Page, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('profile-picture-upload .zone').click()]);
  await chooser.setFiles(file);
}

/**
 * Uploads `photo` as the signed-in user of `cookie` (a `Cookie` header), as the widget does (a JSON client), and
 * resolves the response.
 */
export function uploadAs(server: RunningExample, cookie: string, photo: Buffer): Promise<Response> {
  const form = new FormData();
  form.set('profile_picture', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'me.jpg');
  return fetch(`${server.url}/upload-profile-picture/`, {
    method: 'POST',
    body: form,
    headers: { cookie, accept: 'application/json' },
  });
}
