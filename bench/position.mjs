// The cost of each `position` on one photo: `node bench/position.mjs <photo> [runs] [renders per run]` (after
// `npm run build`). Uploads through a memory-backed service one at a time; runs alternate between the positions so
// that a change in machine load hits each alike. Prints, per position, the median and min–max of the runs' mean ms
// per upload, and the load average around the measurement. Without a master (`master: false`): the figure is what
// the position itself costs, not the master's larger decode.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { createProfilePictures, memoryStorage, memoryUserRepository, POSITIONS } from '../dist/index.js';

const [photoPath, runsArg = '5', perRunArg = '10'] = process.argv.slice(2);
if (!photoPath) throw new Error('usage: node bench/position.mjs <photo> [runs] [renders per run]');
const photo = await readFile(photoPath);
const runs = Number(runsArg);
const perRun = Number(perRunArg);

const services = Object.fromEntries(
  POSITIONS.map((position) => [position, createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository(), position, master: false })]),
);
for (const position of POSITIONS) await services[position].upload('warm-up', photo);

const means = Object.fromEntries(POSITIONS.map((position) => [position, []]));
const loadBefore = os.loadavg()[0];
for (let run = 0; run < runs; run++) {
  for (const position of POSITIONS) {
    const started = performance.now();
    for (let i = 0; i < perRun; i++) await services[position].upload(`u${i}`, photo);
    means[position].push((performance.now() - started) / perRun);
  }
}
const loadAfter = os.loadavg()[0];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(`${runs} runs × ${perRun} uploads, ${os.availableParallelism()} CPUs, load ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`);
for (const position of POSITIONS) {
  const values = means[position];
  const ms = (n) => Math.round(n);
  console.log(`${position.padEnd(9)} ${ms(median(values))} ms (${ms(Math.min(...values))}–${ms(Math.max(...values))})`);
}
