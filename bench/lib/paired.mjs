/**
 * Paired sequential sampling for the concurrency-1 comparison: the contenders take turns, one request (or one L
 * render) each, in a rotating order, until the time budget is spent. Every contender then sees the same machine
 * load — on a shared, noisy machine this is what makes "P's p50 ÷ L's p50" a fair ratio, where two phases
 * measured a few seconds apart can differ by 30 % on their own.
 */
import { quantile } from './load.mjs';

/**
 * @typedef {object} Runner
 * @property {string} name
 * @property {() => Promise<boolean>} run  one sample; resolves true when the outcome was the expected one
 */

/**
 * @param {object} options
 * @param {Runner[]} options.runners
 * @param {number} options.seconds
 * @param {number} [options.minRounds]
 * @returns {Promise<Record<string, import('./load.mjs').LoadResult>>}
 */
export async function runPaired({ runners, seconds, minRounds = 3 }) {
  const samples = Object.fromEntries(runners.map((r) => [r.name, { latencies: [], ok: 0, errors: 0 }]));
  const deadline = performance.now() + seconds * 1000;
  for (let round = 0; round < minRounds || performance.now() < deadline; round++) {
    for (let i = 0; i < runners.length; i++) {
      const runner = runners[(round + i) % runners.length];
      const sample = samples[runner.name];
      const began = performance.now();
      let ok = false;
      try {
        ok = await runner.run();
      } catch {
        ok = false;
      }
      sample.latencies.push(performance.now() - began);
      if (ok) sample.ok++;
      else sample.errors++;
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, { latencies, ok, errors }]) => {
      const busy = latencies.reduce((sum, v) => sum + v, 0) / 1000;
      latencies.sort((a, b) => a - b);
      return [
        name,
        {
          count: latencies.length,
          ok,
          statuses: { ok, errors },
          seconds: busy,
          rps: ok / busy, // one at a time: the rate this contender sustains alone
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          mean: busy * 1000 / Math.max(1, latencies.length),
          lastBody: null,
          firstError: errors ? `${errors} unexpected outcomes` : null,
          latencies,
        },
      ];
    }),
  );
}
