/**
 * Measured rounds that are repeated when the machine was busy with other work: a round whose mean other load (see
 * other-load.mjs) exceeded the threshold is discarded and run again, at most `maxRepeats` times and only while the
 * run has time left; when every attempt was noisy, the quietest one is kept and flagged. Every attempt's other
 * load is recorded, so the report can say how many rounds were repeated and what load they saw.
 */
import { alivePids } from './children.mjs';
import { watchOtherLoad } from './other-load.mjs';

/**
 * @typedef {object} RoundLog
 * @property {string} label
 * @property {(import('./other-load.mjs').OtherLoad | null)[]} attempts  other load of each attempt, in order
 * @property {number} kept      index of the attempt whose figures were kept
 * @property {boolean} noisy    the kept attempt was still above the threshold
 * @property {boolean} repeatable  false for rounds that are never repeated (byte counts, memory, detail tables)
 */

/**
 * @typedef {object} RoundPolicy
 * @property {number} maxOtherLoad  cores
 * @property {number} maxRepeats
 * @property {() => boolean} timeLeft  false once repeating would push the run past its time budget
 * @property {RoundLog[]} log          where each round's record goes
 * @property {(...parts: unknown[]) => void} say
 */

/**
 * Runs `measure` until it ran on a quiet enough machine (or the repeats are spent), and returns its result.
 * `measure` must not record anything itself: only the kept attempt's result is used.
 * @template T
 * @param {RoundPolicy} policy
 * @param {string} label
 * @param {() => Promise<T>} measure
 * @param {{ repeatable?: boolean }} [options]  `repeatable: false` records the load but never repeats
 * @returns {Promise<T>}
 */
export async function measuredRound(policy, label, measure, { repeatable = true } = {}) {
  const attempts = [];
  for (;;) {
    const watch = watchOtherLoad(alivePids);
    const value = await measure();
    const load = watch.stop();
    attempts.push({ value, load });
    const noisy = load !== null && load.mean > policy.maxOtherLoad;
    if (!noisy || !repeatable) break;
    if (attempts.length > policy.maxRepeats || !policy.timeLeft()) break;
    policy.say(`${label}: other load ${load.mean.toFixed(2)} cores > ${policy.maxOtherLoad}: discarded, repeating`);
  }
  let kept = 0;
  attempts.forEach((a, i) => {
    if ((a.load?.mean ?? 0) < (attempts[kept].load?.mean ?? 0)) kept = i;
  });
  const keptLoad = attempts[kept].load;
  policy.log.push({
    label,
    attempts: attempts.map((a) => a.load),
    kept,
    noisy: repeatable && keptLoad !== null && keptLoad.mean > policy.maxOtherLoad,
    repeatable,
  });
  return attempts[kept].value;
}
