// The cost of `animated: true` on a real animated GIF: `node bench/animated.mjs <animated.gif> [frames …]` (after
// `npm run build`). For each frame count the first N frames are re-encoded as a GIF (sharp), then uploaded through a
// memory-backed service with `animated: true` (cap raised to fit) and with the default `animated: false`. Prints
// wall and CPU ms (CPU is steadier on a shared machine), bytes stored, and the process's peak RSS during the upload.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import sharp from 'sharp';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../dist/index.js';

const [gifPath, ...framesArgs] = process.argv.slice(2);
if (!gifPath) throw new Error('usage: node bench/animated.mjs <animated.gif> [frames …]');
const original = await readFile(gifPath);
const meta = await sharp(original).metadata();
const counts = framesArgs.length > 0 ? framesArgs.map(Number) : [8, 90, meta.pages];

async function measure(bytes, options) {
  const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), ...options });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const record = await pictures.upload('u', bytes);
  const wall = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  clearInterval(sampler);
  const sum = (variants) => Object.values(variants ?? {}).reduce((total, v) => total + v.bytes, 0);
  return { wall, cpu: (user + system) / 1000, variants: sum(record.variants), stills: sum(record.stills), peak };
}

console.log(`${gifPath}: ${meta.width}×${meta.pageHeight ?? meta.height}, ${meta.pages} frames, ${original.length} bytes; ${os.availableParallelism()} CPUs, load ${os.loadavg()[0].toFixed(2)}`);
await measure(original, {}); // warm-up
for (const frames of counts) {
  const input = frames === meta.pages ? original : await sharp(original, { pages: frames }).gif().toBuffer();
  const cost = frames * meta.width * (meta.pageHeight ?? meta.height);
  const animated = await measure(input, { animated: true, limits: { animationPixels: Math.max(cost, 25_000_000) } });
  // Without a master, like the animated upload (which never keeps one): the column is what the still costs.
  const still = await measure(input, { master: false });
  const mb = (n) => `${Math.round(n / 1e6)} MB`;
  console.log(
    `${String(frames).padStart(4)} frames (${(cost / 1e6).toFixed(1)} M px, ${input.length} B in): ` +
      `animated ${Math.round(animated.wall)} ms wall / ${Math.round(animated.cpu)} ms CPU, ${animated.variants} B + stills ${animated.stills} B, peak RSS ${mb(animated.peak)}; ` +
      `still ${Math.round(still.wall)} ms / ${Math.round(still.cpu)} ms CPU, ${still.variants} B`,
  );
}
console.log(`load after ${os.loadavg()[0].toFixed(2)}`);
