/**
 * The `onProgress` hooks of the walks over a whole install (`stats()`, `sweep()`): validated once, called every
 * {@link PROGRESS_STEP} items of a phase and once at its end, and never allowed to stop the work — a hook that
 * throws is ignored, as `regenerate()`'s is.
 */
import { invalidOption } from './validate.js';

/** Items (objects listed, records read, orphans deleted) between two calls of a hook within one phase. */
export const PROGRESS_STEP = 100;

/**
 * The app's hook, wrapped so that what it throws is ignored; `undefined` when there is none.
 * @throws TypeError when `hook` is neither a function nor undefined, naming `caller`'s option.
 */
export function progressHook<T>(caller: string, hook: unknown): ((progress: T) => void) | undefined {
  if (hook === undefined) return undefined;
  if (typeof hook !== 'function') throw invalidOption(`${caller}({ onProgress })`, 'a function', hook);
  return (progress) => {
    try {
      hook(progress);
    } catch {
      // The app's progress display must not stop the walk.
    }
  };
}

/** Calls of `hook` with `state()`, phase after phase; nothing when there is no hook. */
export interface PhaseReporter {
  /** After the phase's `count`-th item: a call each time the count passes a multiple of {@link PROGRESS_STEP}. */
  item(count: number): void;
  /** At the end of the phase: a call, unless the last one reported this very state. The next phase starts at 0. */
  end(): void;
}

export function phaseReporter<T extends object>(hook: ((progress: T) => void) | undefined, state: () => T): PhaseReporter {
  let last = 0;
  let reported: T | undefined;
  const report = (now: T) => {
    reported = now;
    hook!({ ...now });
  };
  return {
    item(count) {
      // Steps of several items (a batch delete) may jump over a multiple: compare the hundreds, not the remainder.
      if (hook && Math.floor(count / PROGRESS_STEP) > Math.floor(last / PROGRESS_STEP)) report(state());
      last = count;
    },
    end() {
      const now = hook && state();
      if (now && !(reported && sameState(now, reported))) report(now);
      last = 0;
      reported = undefined;
    },
  };
}

// --- internal ---

function sameState<T extends object>(a: T, b: T): boolean {
  return Object.keys(a).every((key) => a[key as keyof T] === b[key as keyof T]);
}
