// What shrinking in the browser saves on a slow uplink: `node bench/shrink.mjs [runs]` (after `npm run build`; needs
// Chromium, see test/e2e/browser.ts). Not a test, and not part of `npm run bench`.
//
// The input is a real 12 MP phone-style photo over the default 5 MiB limit: the bench's Sony camera photo
// (bench/lib/photos.mjs, from Debian's mate-backgrounds) cropped to 4032×3024, Display P3, JPEG quality 96, EXIF
// orientation 6 — 6.4 MB. In Chromium, `<profile-picture-upload>` uploads it to the library's web handler on
// 127.0.0.1 with the uplink emulated at 10 Mbit/s (CDP `Network.emulateNetworkConditions`, 20 ms latency), twice
// per run, alternating:
// - "shrunk": the default widget against a default service (5 MiB limit; `clientMaxSide` 2048), which scales the
//   photo down before sending;
// - "original": the widget with `no-shrink` against a service whose limit is 8 MiB, which sends the file as it is.
// Measured from the Upload click to the `profile-picture:uploaded` event, split at the moment the widget starts
// sending (the end of "Preparing photo…"); bytes are the request bodies the server received. Prints a Markdown
// report (median and min–max of the runs) and writes it to bench/.tmp/shrink-report.md.
import { createServer } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { clientConfig, createProfilePictures, memoryStorage, memoryUserRepository } from '../dist/index.js';
import { createRequestHandler } from '../dist/web.js';
import { phoneStyle } from './lib/inputs.mjs';
import { fetchPhotos } from './lib/photos.mjs';

const runs = Number(process.argv[2] ?? 3);
const ROOT = path.join(import.meta.dirname, '..');
const TMP = path.join(ROOT, 'bench', '.tmp');
const UPLINK = 10_000_000 / 8; // bytes per second
const WIDGET = 'profile-picture-upload';

const fetched = await fetchPhotos(TMP, (...parts) => console.error(...parts));
if (!fetched.photos) throw new Error(`real photos unavailable: ${fetched.error}`);
const photo = await phoneStyle(fetched.photos.sony.bytes, 96);
const photoFile = path.join(TMP, 'shrink-12mp-q96.jpg');
await mkdir(TMP, { recursive: true });
await writeFile(photoFile, photo);

const arms = {
  shrunk: { limit: 5 * 1024 * 1024, attributes: '' },
  original: { limit: 8 * 1024 * 1024, attributes: 'no-shrink' },
};
const client = await readFile(path.join(ROOT, 'dist', 'client.js'));
for (const arm of Object.values(arms)) arm.url = await serve(arm);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const results = { shrunk: [], original: [] };
const loadBefore = os.loadavg()[0];
for (let run = 0; run < runs; run++) {
  for (const name of run % 2 ? ['original', 'shrunk'] : ['shrunk', 'original']) results[name].push(await measure(arms[name]));
}
const loadAfter = os.loadavg()[0];
await browser.close();
for (const arm of Object.values(arms)) arm.server.close();

const report = [
  `# Shrinking in the browser: 12 MP photo over a 10 Mbit/s uplink`,
  '',
  `${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} × ${os.cpus()[0].model.trim()}, Linux ${os.release()}; ` +
    `Chromium ${browser.version()} headless (no GPU); Node ${process.version}; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} ` +
    `(other work on the machine). Median (min–max) of ${runs} runs.`,
  '',
  `Input: ${fetched.photos.sony.source}, 4032×3024 crop, Display P3, JPEG q96, EXIF orientation 6: ${photo.length} bytes.`,
  '',
  '| | Bytes sent (request body) | Preparing | Sending + server | Upload click → done |',
  '|---|---:|---:|---:|---:|',
  ...Object.entries(results).map(([name, list]) =>
    `| ${name === 'shrunk' ? 'shrunk (default)' : 'original (`no-shrink`, 8 MiB limit)'} | ${figure(list.map((r) => r.bytes), (n) => `${(n / 1e6).toFixed(2)} MB`)} | ` +
    `${figure(list.map((r) => r.preparing), ms)} | ${figure(list.map((r) => r.sending), ms)} | ${figure(list.map((r) => r.total), ms)} |`,
  ),
  '',
];
await writeFile(path.join(TMP, 'shrink-report.md'), report.join('\n'));
console.log(report.join('\n'));

// --- helpers ---

/** A web handler service with `limit` on 127.0.0.1, counting request bodies; also serves the page and the widget. */
async function serve(arm) {
  const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), limits: { fileSize: arm.limit } });
  const handle = createRequestHandler(pictures, { getUser: () => ({ id: 'bench' }) });
  const page = `<!doctype html><meta charset="utf-8"><title>shrink</title><script type="module" src="/client.js"></script>
<form method="post" action="/upload-profile-picture/" enctype="multipart/form-data">
<${WIDGET} config='${JSON.stringify(clientConfig(pictures.options))}' ${arm.attributes}></${WIDGET}></form>`;
  arm.received = [];
  arm.server = createServer(async (req, res) => {
    if (req.url === '/client.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(client);
    if (req.url === '/') return void res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST') arm.received.push(body.length);
    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
    const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, ...(req.method === 'POST' && { body }) });
    const response = (await handle(request)) ?? new Response('not found', { status: 404 });
    response.headers.forEach((value, key) => res.setHeader(key, value));
    res.writeHead(response.status).end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((resolve) => arm.server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${arm.server.address().port}/`;
}

/** One upload in a fresh page: times in ms and the bytes the server received. */
async function measure(arm) {
  const page = await browser.newPage();
  try {
    page.on('filechooser', () => {});
    await page.goto(arm.url);
    await page.waitForFunction((tag) => customElements.get(tag) !== undefined, WIDGET);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator(`${WIDGET} .zone`).click()]);
    await chooser.setFiles(photoFile);
    await page.locator(`${WIDGET}[state="selected"]`).waitFor({ state: 'attached' });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: UPLINK });
    const before = arm.received.length;
    const times = await page.evaluate(
      (tag) =>
        new Promise((resolve, reject) => {
          const element = document.querySelector(tag);
          let sending = null;
          new MutationObserver(() => {
            if (sending === null && element.getAttribute('state') === 'uploading') sending = performance.now();
          }).observe(element, { attributes: true, attributeFilter: ['state'] });
          element.addEventListener('profile-picture:uploaded', () => resolve({ start, sending, done: performance.now() }), { once: true });
          element.addEventListener('profile-picture:error', (event) => reject(new Error(event.detail.message)), { once: true });
          const start = performance.now();
          element.shadowRoot.querySelector('.upload').click();
        }),
      WIDGET,
    );
    if (arm.received.length !== before + 1) throw new Error('expected exactly one upload request');
    return {
      bytes: arm.received.at(-1),
      preparing: times.sending - times.start,
      sending: times.done - times.sending,
      total: times.done - times.start,
    };
  } finally {
    await page.close();
  }
}

function ms(n) {
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
}

function figure(values, format) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return `${format(median)} (${format(sorted[0])}–${format(sorted.at(-1))})`;
}
