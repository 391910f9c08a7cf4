/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The crop step and shrinking together, in Chromium against the Express example (default options: 5 MiB limit,
 * `clientMaxSide` 2048): a 12 MP phone photo over the limit, stored sideways with EXIF orientation 6, is cropped with
 * the keyboard, cut and shrunk in the browser, and uploaded under the limit; the stored `md` variant shows the region
 * chosen in the upright original. Left uncropped, it is shrunk whole and sent with no crop, so the server picks the
 * centred square. Screenshots go to artifacts/cropshrink-*.png (not crop-*: crop.test.ts clears those).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CropRect } from '../../src/client/crop.js';
import { clearScreenshots, collectPageErrors, hasChromium, interceptFileChoosers, launchChromium, screenshot } from './browser.js';
import { startExample, type RunningExample } from './example-server.js';
import { phonePhoto, type PhonePhoto } from './photos.js';
import { lastSentForm, recordSentForms, type SentForm } from './sent-forms.js';

const WIDGET = 'profile-picture-upload';
const USERNAME = 'grace.hopper';
const LIMIT = 5 * 1024 * 1024;
const MD = 256;
/** The phone photo shown upright: 3024 × 4032 (stored 4032 × 3024 with orientation 6). */
const UPRIGHT = { width: 3024, height: 4032 };
/** The crop the first test makes with the keyboard, in upright pixels. */
const KEYBOARD_CROP = { left: 777, top: 546, width: 2100, height: 2100 };

describe.skipIf(!hasChromium)('crop step and shrinking together: express-app', () => {
  let server: RunningExample;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let photo: PhonePhoto;
  let dir: string;

  beforeAll(async () => {
    [server, browser, photo, dir] = await Promise.all([
      startExample('express-app'),
      launchChromium(),
      phonePhoto(),
      mkdtemp(join(tmpdir(), 'pp-e2e-crop-shrink-')),
      clearScreenshots('cropshrink'),
    ]);
    console.info(`[crop-shrink] ${photo.source}, ${photo.bytes.length} bytes`);
    context = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
    await recordSentForms(context);
    page = await context.newPage();
    interceptFileChoosers(page);
    errors = collectPageErrors(page);
    await page.goto(`${server.url}/signup/`);
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill('cobol-compiler-1959');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/success\//);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Opens the profile page and chooses the phone photo from disk (Chromium reads it itself, however large). */
  const chooseBigPhoto = async () => {
    await page.goto(`${server.url}/profile/`);
    await page.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
    const file = join(dir, 'IMG_0001.jpg');
    await writeFile(file, photo.bytes);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator(`${WIDGET} .zone`).click()]);
    await chooser.setFiles(file);
    await page.locator(`${WIDGET} .stage`).waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator(`${WIDGET} .crop-image`).evaluate((img: HTMLImageElement) => img.decode());
    expect(await page.locator(`${WIDGET} .status`).textContent()).toMatch(/It will be made smaller than 5 MiB before uploading\.$/);
    const size = await page
      .locator(`${WIDGET} .crop-image`)
      .evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight }));
    expect(size).toEqual(UPRIGHT);
  };
  const upload = async () => {
    await page.locator(`${WIDGET} .upload`).click();
    await page.locator(`${WIDGET}[state="done"]`).waitFor({ state: 'attached', timeout: 90_000 });
  };
  /** The one file sent, checked to be a JPEG under the limit (and far smaller than the photo chosen). */
  const sentFile = (form: SentForm) => {
    expect(form.files).toHaveLength(1);
    const [file] = form.files;
    expect(file).toMatchObject({ field: 'profile_picture', name: 'IMG_0001.jpg', type: 'image/jpeg' });
    expect(file!.size).toBeLessThan(LIMIT);
    expect(photo.bytes.length).toBeGreaterThan(LIMIT);
    return file!;
  };
  /**
   * Mean absolute difference (0–255) between the stored md variant and `expected` (raw RGB, 256 × 256). WebP at
   * quality 82 (the default output) alone puts a perfect md of this textured photo 4.3–4.5 away (measured with sharp),
   * so the threshold is 6 where the synthetic portraits of crop.test.ts use 4; the wrong region is about 40 away.
   */
  const mdDifference = async (expected: Buffer) => {
    const key = server.userRow(USERNAME)!.picture!.variants.md!.key;
    const stored = await sharp(await readFile(join(server.mediaDir, key))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(stored.info).toMatchObject({ width: MD, height: MD });
    let sum = 0;
    for (let i = 0; i < stored.data.length; i++) sum += Math.abs(stored.data[i]! - expected[i]!);
    return sum / stored.data.length;
  };
  /** sharp cutting `rect` of the upright photo, at the md size. */
  const sharpCrop = (rect: CropRect) => sharp(photo.bytes).rotate().extract(rect).resize(MD, MD).removeAlpha().raw().toBuffer();
  /**
   * sharp's centred square of the upright photo (`fit: 'cover'`) at the largest variant's 512 px, then at md: the
   * server's own two steps, whose rounding of the odd excess (683 − 512 rows) a direct cut at 256 px would not share.
   */
  const sharpCentre = async () => {
    const lg = await sharp(photo.bytes).rotate().resize(512, 512, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    return sharp(lg, { raw: { width: 512, height: 512, channels: 3 } }).resize(MD, MD).raw().toBuffer();
  };
  it('crops the 12 MP photo with the keyboard, cuts and shrinks it in the browser, and stores the region chosen', async () => {
    await chooseBigPhoto();
    await screenshot(page, 'cropshrink-1-chosen');
    const stage = page.locator(`${WIDGET} .stage`);
    await stage.focus();
    await page.keyboard.press('+');
    await page.keyboard.press('+'); // side 3024 / 1.44 = 2100, centred: 462, 966
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight'); // 5 % of the side each: +315
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowUp'); // −420
    await expect
      .poll(() => page.locator(`${WIDGET} .crop-live`).textContent())
      .toBe(`Zoom 144%: a 2100-pixel square from ${KEYBOARD_CROP.left}, ${KEYBOARD_CROP.top}.`);
    await screenshot(page, 'cropshrink-2-cropped');

    await upload();
    const form = await lastSentForm(page);
    const file = sentFile(form);
    // The file sent is the crop alone, scaled to clientMaxSide: the crop sent is the whole of it.
    expect(form.fields).toMatchObject({ crop_left: '0', crop_top: '0', crop_width: '2048', crop_height: '2048' });
    const near = await mdDifference(await sharpCrop(KEYBOARD_CROP));
    const centre = await mdDifference(await sharpCentre());
    console.info(`[crop-shrink] cropped: sent ${file.size} bytes, mean |Δ| ${near.toFixed(2)} (centre square ${centre.toFixed(2)})`);
    expect(near).toBeLessThan(6);
    expect(centre).toBeGreaterThan(4 * near + 4);
    await page.evaluate(() => Promise.all([...document.images].map((img) => img.decode().catch(() => {}))));
    await screenshot(page, 'cropshrink-3-uploaded');
    expect(errors).toEqual([]);
  }, 180_000);

  it('left uncropped, shrinks the whole photo and sends no crop: the server takes the centred square', async () => {
    await chooseBigPhoto();
    await upload();
    const form = await lastSentForm(page);
    const file = sentFile(form);
    expect(Object.keys(form.fields).filter((name) => name.startsWith('crop_'))).toEqual([]);
    const centre = await mdDifference(await sharpCentre());
    const cropped = await mdDifference(await sharpCrop(KEYBOARD_CROP));
    console.info(`[crop-shrink] uncropped: sent ${file.size} bytes, mean |Δ| ${centre.toFixed(2)} (keyboard crop ${cropped.toFixed(2)})`);
    expect(centre).toBeLessThan(6);
    expect(cropped).toBeGreaterThan(4 * centre + 4);
    expect(errors).toEqual([]);
  }, 180_000);
});
