/// <reference lib="dom" />
/**
 * Chromium for the browser tests: Debian's `/usr/bin/chromium` (or `CHROMIUM_PATH`) driven by playwright-core,
 * which cannot download a browser of its own here. When it is missing, the suites skip and say so.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Chromium is looked for. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser tests can run. */
export const hasChromium = existsSync(CHROMIUM_PATH);

if (!hasChromium) {
  console.warn(
    `\n[e2e] SKIPPING browser tests: no Chromium at ${CHROMIUM_PATH}. Install it (apt-get install chromium) ` +
      'or set CHROMIUM_PATH.\n',
  );
}

/** Launches headless Chromium with the flags a container needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** Screenshots go here (git-ignored). */
export const ARTIFACTS = join(import.meta.dirname, 'artifacts');

/** Deletes the screenshots of an earlier run whose names start with `prefix-`. */
export async function clearScreenshots(prefix: string): Promise<void> {
  const names = await readdir(ARTIFACTS).catch(() => [] as string[]);
  await Promise.all(
    names.filter((name) => name.startsWith(`${prefix}-`)).map((name) => rm(join(ARTIFACTS, name), { force: true })),
  );
}

/**
 * Saves a full-page screenshot as `artifacts/<name>.png`. Screenshots are artifacts for people, not assertions: a
 * capture that Chromium fails transiently under load ("Unable to capture screenshot") is retried once and then only
 * reported, so it never fails the scenario it documents.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({ path, fullPage: true });
      return;
    } catch (err) {
      if (attempt >= 2) {
        console.warn(`[e2e] screenshot ${name} skipped: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
      await page.waitForTimeout(250);
    }
  }
}

/**
 * Collects uncaught page errors and console errors (a CSP violation shows up as one). Failed requests the test
 * provokes on purpose (a 401) are logged by Chromium as "Failed to load resource" and are left out.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return errors;
}

/**
 * Waits until `selector` matches an `<img>` that finished loading (or failed to) and returns the pixel width of the
 * file it loaded (`currentSrc`): 0 means it did not load. Not `naturalWidth` itself, which a `srcset` candidate's
 * `w` descriptor scales to the displayed size (a 64w file shown at `sizes="36px"` reports 36).
 */
export async function loadedImageWidth(page: Page, selector: string): Promise<number> {
  const image = page.locator(selector).first();
  await image.waitFor({ state: 'attached' });
  return image.evaluate(async (element) => {
    const img = element as HTMLImageElement;
    if (!img.complete) {
      await new Promise((resolve) => {
        img.addEventListener('load', resolve, { once: true });
        img.addEventListener('error', resolve, { once: true });
      });
    }
    if (img.naturalWidth === 0 || !img.srcset) return img.naturalWidth;
    const file = new Image();
    file.src = img.currentSrc;
    await file.decode();
    return file.naturalWidth;
  });
}

/**
 * Turns on file-chooser interception for `page` up front. Playwright enables it lazily when the first
 * `filechooser` listener is added, with an asynchronous browser call: a chooser opened by a single fast action (a key
 * press) can win that race, open natively (invisible when headless) and never be reported.
 */
export function interceptFileChoosers(page: Page): void {
  page.on('filechooser', () => {});
}
