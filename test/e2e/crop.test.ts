/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The widget's crop step in Chromium against the Express example: a crop made with the mouse (slider, wheel, drag),
 * the keyboard and touch (pinch, one-finger drag) reaches the server as `crop_*` fields in source pixels after EXIF
 * orientation, and the stored `md` variant shows that region: it is compared with sharp cropping the same region
 * of the source, and must differ clearly from the uncropped square. Screenshots of each step go to artifacts/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegWithExifOrientation6Gps } from '../fixtures/index.js';
import {
  ARTIFACTS,
  clearScreenshots,
  collectPageErrors,
  hasChromium,
  interceptFileChoosers,
  launchChromium,
  screenshot,
} from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { portraitJpeg, WARM } from './photos.js';

const WIDGET = 'profile-picture-upload';
const USERNAME = 'margaret.hamilton';
const MD = 256;

interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

describe.skipIf(!hasChromium)('crop step in the widget: express-app', () => {
  let server: RunningExample;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let photo: Buffer;
  /** The same photo stored sideways with EXIF orientation 6: displayed upright, 1600 × 1200 like `photo`. */
  let rotated: Buffer;
  let shot = 0;
  const snap = (tab: Page, name: string) => screenshot(tab, `crop-${String(++shot).padStart(2, '0')}-${name}`);
  /**
   * A screenshot of the viewport only: for a full-page capture Chromium briefly drops touch emulation, and the
   * widget, which follows `(pointer: coarse)` live, would be captured saying "Drag" instead of "Tap".
   */
  const snapViewport = async (tab: Page, name: string) => {
    await mkdir(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: join(ARTIFACTS, `crop-${String(++shot).padStart(2, '0')}-${name}.png`) });
  };

  beforeAll(async () => {
    await clearScreenshots('crop');
    [server, browser, photo] = await Promise.all([startExample('express-app'), launchChromium(), portraitJpeg(WARM)]);
    rotated = await sharp(photo).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toBuffer();
    context = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
    page = await context.newPage();
    interceptFileChoosers(page);
    errors = collectPageErrors(page);
    await page.goto(`${server.url}/signup/`);
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill('apollo-guidance-1969');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/success\//);
  });
  beforeAll(() => recordSentFields(context));

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  /**
   * Records the text fields of every FormData the page sends (Chromium does not report a multipart body holding a
   * file to the test, so the request is read where it is made).
   */
  const recordSentFields = (target: BrowserContext) =>
    target.addInitScript(() => {
      const sent: Array<Record<string, string>> = [];
      (window as unknown as { __sent: typeof sent }).__sent = sent;
      const send = XMLHttpRequest.prototype.send;
      XMLHttpRequest.prototype.send = function (body) {
        if (body instanceof FormData) {
          sent.push(Object.fromEntries([...body.entries()].filter((entry): entry is [string, string] => typeof entry[1] === 'string')));
        }
        return send.call(this, body);
      };
    });
  const open = async (tab: Page) => {
    await tab.goto(`${server.url}/profile/`);
    await tab.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
  };
  const choose = async (tab: Page, name: string, buffer: Buffer) => {
    const [chooser] = await Promise.all([tab.waitForEvent('filechooser'), tab.locator(`${WIDGET} .zone`).click()]);
    await chooser.setFiles({ name, mimeType: 'image/jpeg', buffer });
    await tab.locator(`${WIDGET} .stage`).waitFor({ state: 'visible' });
    await tab.locator(`${WIDGET} .crop-image`).evaluate((img: HTMLImageElement) => img.decode());
  };
  const upload = async (tab: Page) => {
    await tab.locator(`${WIDGET} .upload`).click();
    await tab.locator(`${WIDGET}[state="done"]`).waitFor({ state: 'attached', timeout: 20_000 });
  };
  /** The frame's side in CSS pixels, and the stage's centre on the page. */
  const geometry = async (tab: Page) => {
    const frame = (await tab.locator(`${WIDGET} .frame`).boundingBox())!;
    const stage = (await tab.locator(`${WIDGET} .stage`).boundingBox())!;
    return { frame: frame.width, x: stage.x + stage.width / 2, y: stage.y + stage.height / 2 };
  };
  /** The crop fields of the page's last upload request (checked to be all four or none). */
  const sentCrop = async (tab: Page): Promise<Rect | null> => {
    const fields = await tab.evaluate(() => (window as unknown as { __sent: Array<Record<string, string>> }).__sent.at(-1)!);
    const names = Object.keys(fields).filter((name) => name.startsWith('crop_')).sort();
    if (names.length === 0) return null;
    expect(names).toEqual(['crop_height', 'crop_left', 'crop_top', 'crop_width']);
    const [left, top, width, height] = ['left', 'top', 'width', 'height'].map((side) => Number(fields[`crop_${side}`]));
    return { left: left!, top: top!, width: width!, height: height! };
  };
  /** The stored md variant and sharp's rendering of `rect` of `source`, as raw RGB at 256 × 256. */
  const meanDifference = async (source: Buffer, rect: Rect) => {
    const key = server.userRow(USERNAME)!.picture!.variants.md!.key;
    const stored = await sharp(await readFile(join(server.mediaDir, key))).removeAlpha().raw().toBuffer();
    const expected = await sharp(source).rotate().extract(rect).resize(MD, MD).removeAlpha().raw().toBuffer();
    let sum = 0;
    for (let i = 0; i < stored.length; i++) sum += Math.abs(stored[i]! - expected[i]!);
    return sum / stored.length;
  };
  /** The stored picture shows `rect`, and clearly not the uncropped centred square. */
  const expectStoredCrop = async (source: Buffer, rect: Rect) => {
    const near = await meanDifference(source, rect);
    const uncropped = await meanDifference(source, { left: 200, top: 0, width: 1200, height: 1200 });
    expect(near).toBeLessThan(4);
    expect(uncropped).toBeGreaterThan(4 * near + 4);
    return { near, uncropped };
  };
  const expectClose = (actual: Rect | null, expected: Rect) => {
    expect(actual).not.toBeNull();
    for (const side of ['left', 'top', 'width', 'height'] as const) {
      expect(Math.abs(actual![side] - expected[side]), `${side}: ${actual![side]} vs ${expected[side]}`).toBeLessThanOrEqual(2);
    }
  };

  /** Uploads, then checks the crop sent is `expected` (± 2 px) and the stored picture shows what was sent. */
  const uploadAndCheck = async (tab: Page, label: string, source: Buffer, expected: Rect) => {
    await upload(tab);
    const crop = await sentCrop(tab);
    expectClose(crop, expected);
    const differences = await expectStoredCrop(source, crop!);
    console.info(`[crop] ${label}: sent ${JSON.stringify(crop)}; mean |Δ| ${JSON.stringify(differences)}`);
  };

  it('shows an EXIF-rotated photo upright in the crop view and the preview', async () => {
    await open(page);
    const fixture = await jpegWithExifOrientation6Gps(); // stored 400 × 300, left red; displayed 300 × 400, red on top
    await choose(page, 'rotated.jpg', fixture);
    const size = await page
      .locator(`${WIDGET} .crop-image`)
      .evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    expect(size).toEqual([300, 400]);
    const stage = (await page.locator(`${WIDGET} .stage`).screenshot()) as Buffer;
    const { data, info } = await sharp(stage).raw().toBuffer({ resolveWithObject: true });
    const at = (fx: number, fy: number) => {
      const i = (Math.round(info.height * fy) * info.width + Math.round(info.width * fx)) * info.channels;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    };
    // The full square is the middle 300 × 300 of the upright photo: red above the centre line, blue below.
    expect(at(0.5, 0.3)[0]).toBeGreaterThan(200);
    expect(at(0.5, 0.3)[2]).toBeLessThan(60);
    expect(at(0.5, 0.7)[2]).toBeGreaterThan(200);
    expect(at(0.5, 0.7)[0]).toBeLessThan(60);
    await snap(page, 'exif6-upright');
  });

  it('crops with the mouse: slider, wheel and drag', async () => {
    await open(page);
    await choose(page, 'portrait.jpg', photo);
    await snap(page, 'mouse-chosen');
    const zoom = page.locator(`${WIDGET} .zoom input`);
    await zoom.fill('150'); // side 800, centred: 400, 200
    expect(await zoom.getAttribute('aria-valuetext')).toBe('150%');
    const { frame, x, y } = await geometry(page);
    await page.mouse.move(x, y);
    await page.mouse.wheel(0, -100); // ×e^0.2 around the centre
    await page.waitForFunction((tag) => document.querySelector(tag)!.shadowRoot!.querySelector('input[type=range]')!.getAttribute('aria-valuetext') !== '150%', WIDGET);
    await page.mouse.down();
    await page.mouse.move(x + 30, y - 20, { steps: 4 });
    await page.mouse.move(x + 60, y - 45, { steps: 4 });
    await page.mouse.up();
    await snap(page, 'mouse-cropped');
    const side = 800 / Math.exp(0.2);
    const expected = {
      left: 800 - side / 2 - (60 * side) / frame,
      top: 600 - side / 2 + (45 * side) / frame,
      width: side,
      height: side,
    };
    await uploadAndCheck(page, 'mouse', photo, expected);
    await snap(page, 'mouse-uploaded');
  });

  it('crops with the keyboard, announces the crop, and Home resets', async () => {
    await open(page);
    await choose(page, 'portrait.jpg', photo);
    const stage = page.locator(`${WIDGET} .stage`);
    await stage.focus();
    expect(await stage.getAttribute('aria-label')).toBe('Crop area');
    expect(await stage.getAttribute('role')).toBe('application');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('+');
    await page.keyboard.press('Home'); // back to the full square
    await page.keyboard.press('+');
    await page.keyboard.press('+'); // side 1200 / 1.44
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight'); // 5 % of the side each
    await page.keyboard.press('ArrowUp');
    const side = 1200 / 1.44;
    const expected = { left: 800 - side / 2 + 3 * 0.05 * side, top: 600 - side / 2 - 0.05 * side, width: side, height: side };
    const r = (n: number) => Math.round(n);
    await expect
      .poll(() => page.locator(`${WIDGET} .crop-live`).textContent())
      .toBe(`Zoom 144%: a ${r(side)}-pixel square from ${r(expected.left)}, ${r(expected.top)}.`);
    expect(await page.locator(`${WIDGET} .zoom input`).getAttribute('aria-valuetext')).toBe('144%');
    await snap(page, 'keyboard-cropped');
    await uploadAndCheck(page, 'keyboard', photo, expected);
  });

  it('sends no crop when the user leaves the full square, so the server picks it', async () => {
    await open(page);
    await choose(page, 'portrait.jpg', photo);
    await upload(page);
    expect(await sentCrop(page)).toBeNull();
    expect(await meanDifference(photo, { left: 200, top: 0, width: 1200, height: 1200 })).toBeLessThan(4);
  });

  it('crops an EXIF-rotated photo in the displayed coordinates', async () => {
    await open(page);
    await choose(page, 'sideways.jpg', rotated);
    const size = await page
      .locator(`${WIDGET} .crop-image`)
      .evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    expect(size).toEqual([1600, 1200]);
    await page.locator(`${WIDGET} .zoom input`).fill('200'); // side 600, centred: 500, 300
    const { frame, x, y } = await geometry(page);
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x - 80, y + 50, { steps: 6 });
    await page.mouse.up();
    await snap(page, 'exif6-cropped');
    const expected = { left: 500 + (80 * 600) / frame, top: 300 - (50 * 600) / frame, width: 600, height: 600 };
    await uploadAndCheck(page, 'EXIF 6', rotated, expected);
  });

  it('crops by touch: pinch to zoom, one finger to pan; says "Tap" instead of "Drag"', async () => {
    const touch = await browser.newContext({
      viewport: { width: 420, height: 900 },
      hasTouch: true,
      storageState: await context.storageState(),
    });
    try {
      await recordSentFields(touch);
      const tab = await touch.newPage();
      interceptFileChoosers(tab);
      const touchErrors = collectPageErrors(tab);
      await open(tab);
      expect(await tab.locator(`${WIDGET} .prompt`).textContent()).toBe('Tap to choose a photo');
      expect(await tab.locator(`${WIDGET} .zone`).getAttribute('aria-label')).toBe('Tap to choose a photo');
      await tab.locator(`${WIDGET} .zone`).scrollIntoViewIfNeeded();
      await snapViewport(tab, 'touch-prompt');
      await choose(tab, 'portrait.jpg', photo);
      expect(await tab.locator(`${WIDGET} .crop-help`).textContent()).toContain('Pinch');
      const { frame, x, y } = await geometry(tab);
      const cdp = await touch.newCDPSession(tab);
      const touches = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: Array<[number, number]>) =>
        cdp.send('Input.dispatchTouchEvent', {
          type,
          touchPoints: points.map(([px, py], id) => ({ x: px, y: py, id, radiusX: 4, radiusY: 4, force: 1 })),
        });
      // Pinch: two fingers 60 px apart spread to 120 px around the centre, so ×2 around the centre.
      await touches('touchStart', [[x - 30, y], [x + 30, y]]);
      for (let step = 1; step <= 6; step++) await touches('touchMove', [[x - 30 - 5 * step, y], [x + 30 + 5 * step, y]]);
      await touches('touchEnd', []);
      // One finger: drag the photo left and down.
      await touches('touchStart', [[x, y]]);
      for (let step = 1; step <= 5; step++) await touches('touchMove', [[x - 10 * step, y + 8 * step]]);
      await touches('touchEnd', []);
      await snapViewport(tab, 'touch-cropped');
      const expected = { left: 500 + (50 * 600) / frame, top: 300 - (40 * 600) / frame, width: 600, height: 600 };
      await uploadAndCheck(tab, 'touch', photo, expected);
      await tab.locator('.profile__current').scrollIntoViewIfNeeded();
      await snapViewport(tab, 'touch-uploaded');
      expect(touchErrors).toEqual([]);
    } finally {
      await touch.close();
    }
  });

  it('shows a square frame with shape="square", and no crop step with no-crop', async () => {
    await open(page);
    await page.locator(WIDGET).evaluate((el) => el.setAttribute('shape', 'square'));
    await choose(page, 'portrait.jpg', photo);
    const radius = await page.locator(`${WIDGET} .frame`).evaluate((el) => getComputedStyle(el).borderRadius);
    expect(radius).not.toBe('50%');
    await snap(page, 'square');
    // Forced colours drop the mask's box shadow: the frame keeps an outline.
    await page.emulateMedia({ forcedColors: 'active' });
    expect(await page.locator(`${WIDGET} .frame`).evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
    await snap(page, 'forced-colors');
    await page.emulateMedia({ forcedColors: 'none' });
    await page.locator(WIDGET).evaluate((el) => el.setAttribute('no-crop', ''));
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator(`${WIDGET} .zone`).click()]);
    await chooser.setFiles({ name: 'again.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.locator(`${WIDGET}[state="selected"]`).waitFor({ state: 'attached' });
    expect(await page.locator(`${WIDGET} .crop`).isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });
});
