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
      const byRound = [...latencies]; // index = round, for paired comparisons
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
          byRound,
        },
      ];
    }),
  );
}

/**
 * A 95 % bootstrap interval for quantile(`numerator`) ÷ quantile(`denominator`) over paired rounds: round indices are
 * resampled with replacement 2000 times and both contenders keep the samples of the same rounds, so drift in the
 * machine's load (which hit both alike) does not widen the interval. A fixed seed makes a report reproducible from
 * its samples. A target "passes reliably" when the whole interval is on its side.
 * @param {number[]} numerator   latencies (ms) by round
 * @param {number[]} denominator latencies (ms) by round, same length
 * @param {number} [q]           the quantile compared (default the median)
 * @returns {[number, number] | null}
 */
export function bootstrapRatioInterval(numerator, denominator, q = 0.5) {
  const rounds = Math.min(numerator.length, denominator.length);
  if (rounds < 5) return null;
  let seed = 0x9e3779b9;
  const random = () => {
    // xorshift32: deterministic and plenty for resampling indices.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const ratios = Array.from({ length: 2000 }, () => {
    const picks = Array.from({ length: rounds }, () => Math.floor(random() * rounds));
    const at = (values) => quantile(picks.map((i) => values[i]).sort((a, b) => a - b), q);
    return at(numerator) / at(denominator);
  });
  ratios.sort((a, b) => a - b);
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}
