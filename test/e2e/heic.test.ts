/// <reference lib="dom" />
/**
 * An iPhone HEIC photo chosen in the widget, in Chromium against the Express example: with the default `accept` (no
 * `heif`) the widget refuses it before sending, with the HEIC message that says how to fix it (choose a JPEG, or the
 * phone's "Most Compatible" setting); a widget whose config lists `image/heic` sends it, and shows the server's 415
 * `UNSUPPORTED_TYPE` (`details.format: 'heic'`), which says the same. Nothing is stored. Screenshots go to artifacts/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canDecodeHevc } from '../../src/codecs/heic.js';
import { DEFAULT_MESSAGES } from '../../src/client/messages.js';
import { heic } from '../fixtures/index.js';
import { clearScreenshots, hasChromium, launchChromium, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { chooseFile, openProfile, signedInPage } from './signed-in.js';

const WIDGET = 'profile-picture-upload';
const USERNAME = 'katherine.johnson';

describe.skipIf(!hasChromium)('HEIC photo in the widget: express-app', () => {
  let server: RunningExample;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let shot = 0;
  const snap = (name: string) => screenshot(page, `heic-${String(++shot).padStart(2, '0')}-${name}`);

  beforeAll(async () => {
    await clearScreenshots('heic');
    [server, browser] = await Promise.all([startExample('express-app'), launchChromium()]);
    ({ context, page, errors } = await signedInPage(browser, server, USERNAME));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  const open = () => openProfile(page, server);
  const chooseHeic = () => chooseFile(page, { name: 'IMG_0001.HEIC', mimeType: 'image/heic', buffer: heic() });
  const errorText = async () => {
    await page.locator(`${WIDGET} .error`).waitFor({ state: 'visible' });
    return page.locator(`${WIDGET} .error`).textContent();
  };
  const sentCount = () => page.evaluate(() => (window as unknown as { __sent: unknown[] }).__sent.length);

  it('refuses it before sending, saying to choose a JPEG or set the phone to "Most Compatible"', async () => {
    await open();
    // iOS Safari converts HEIC to JPEG for such a list; a desktop hands the file over as it is.
    const accepts = await page.locator(`${WIDGET} input[type=file]`).evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).accept));
    expect(accepts.length).toBeGreaterThan(0);
    for (const accept of accepts) expect(accept).not.toContain('heic');
    await chooseHeic();
    const text = await errorText();
    expect(text).toBe(DEFAULT_MESSAGES.heic);
    expect(text).toContain('Choose a JPEG');
    expect(text).toContain('"Most Compatible"');
    expect(await page.locator(WIDGET).getAttribute('state')).not.toBe('selected');
    await snap('refused-in-browser');
    expect(await sentCount()).toBe(0);
    expect(await server.storedFiles()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("with image/heic in the widget's config, shows the server's 415 HEIC message", async (ctx) => {
    if (await canDecodeHevc()) ctx.skip(); // a libvips with an HEVC decoder accepts HEIC under `heif`
    await open();
    // As a page whose widget config lists HEIC would: the widget lets the file through, the server decides.
    await page.locator(WIDGET).evaluate((element) => {
      const config = JSON.parse(element.getAttribute('config')!) as { accept: string[] };
      element.setAttribute('config', JSON.stringify({ ...config, accept: [...config.accept, 'image/heic'] }));
    });
    await chooseHeic();
    await page.locator(`${WIDGET}[state="selected"]`).waitFor({ state: 'attached' });
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.locator(`${WIDGET} .upload`).click(),
    ]);
    expect(response.status()).toBe(415);
    const body = (await response.json()) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(body.error).toMatchObject({ code: 'UNSUPPORTED_TYPE', details: { format: 'heic', detected: 'image/heic' } });
    const text = await errorText();
    expect(text).toBe(body.error.message);
    expect(text).toContain('choose a JPEG');
    expect(text).toContain('"Most Compatible"');
    await snap('refused-by-server');
    expect(await sentCount()).toBe(1);
    expect(await server.storedFiles()).toEqual([]);
    expect(server.userRow(USERNAME)!.picture).toBeNull();
    // The 415 is the only console error Chromium logs ("Failed to load resource"), which collectPageErrors leaves out.
    expect(errors).toEqual([]);
  });
});
