// @ts-check
/**
 * The admin page's *Regenerate all*: one `pictures.regenerate()` run at a time in this process, with its progress
 * kept for the page and its status endpoint. The library keeps no state of its own (it compares each record with
 * today's settings), so a run that is stopped, or a second instance's run, only means the next run has less to do:
 * the one-at-a-time rule here saves CPU, it is not needed for correctness.
 */

/**
 * @typedef {'idle' | 'running' | 'stopping' | 'done' | 'stopped' | 'error'} JobState
 *
 * @typedef {object} JobStatus
 * @property {JobState} state
 * @property {number} total pictures to look at, counted when the run started (at least `scanned`)
 * @property {number} scanned
 * @property {number} regenerated
 * @property {number} skipped already up to date, or changed by their owner during the run
 * @property {number} failed
 * @property {Array<{ userId: string, code: string }>} failures the first few
 * @property {string | null} startedAt
 * @property {string | null} finishedAt
 */

/** Failures kept for the page: enough to see what went wrong, bounded whatever the run meets. */
const KEPT_FAILURES = 10;

/** @returns {JobStatus} */
const idle = () => ({
  state: 'idle',
  total: 0,
  scanned: 0,
  regenerated: 0,
  skipped: 0,
  failed: 0,
  failures: [],
  startedAt: null,
  finishedAt: null,
});

/**
 * @param {object} options
 * @param {import('profile-picture').ProfilePictures} options.pictures
 * @param {() => Promise<number>} options.countPictures how many users have a picture (for the bar's maximum)
 * @param {number} [options.concurrency] users re-rendered at once (the library's default, 2, when unset)
 */
export function regenerateJob({ pictures, countPictures, concurrency }) {
  let status = idle();
  /** @type {AbortController | null} */
  let controller = null;
  /** @type {Promise<void> | null} */
  let running = null;

  /** @param {AbortSignal} signal */
  async function run(signal) {
    status.total = await countPictures();
    const result = await pictures.regenerate({
      ...(concurrency ? { concurrency } : {}),
      signal,
      onProgress: ({ scanned, regenerated, skipped, failed }) => {
        // Users who upload their first picture during the run can take `scanned` past the count made at the start.
        Object.assign(status, { scanned, regenerated, skipped, failed: failed.length, total: Math.max(status.total, scanned) });
      },
    });
    Object.assign(status, {
      state: result.aborted ? 'stopped' : 'done',
      scanned: result.scanned,
      regenerated: result.regenerated,
      skipped: result.skipped,
      failed: result.failed.length,
      failures: result.failed.slice(0, KEPT_FAILURES),
      total: result.aborted ? Math.max(status.total, result.scanned) : result.scanned,
    });
  }

  return {
    /** The current run's progress, or the last run's result. */
    status: () => ({ ...status }),

    /**
     * Starts a run unless one is going on.
     * @returns {boolean} false when a run was already going on
     */
    start() {
      if (running) return false;
      const current = new AbortController();
      controller = current;
      status = { ...idle(), state: 'running', startedAt: new Date().toISOString() };
      running = run(current.signal)
        .catch((err) => {
          console.error('Regenerating pictures failed:', err);
          status.state = 'error';
        })
        .finally(() => {
          status.finishedAt = new Date().toISOString();
          running = null;
          controller = null;
        });
      return true;
    },

    /**
     * Asks the run to stop: users in progress finish or roll back, no new one starts. Resolves when it has stopped.
     * @returns {Promise<boolean>} false when no run was going on
     */
    async stop() {
      if (!running || !controller) return false;
      status.state = 'stopping';
      controller.abort();
      await running;
      return true;
    },
  };
}

/** @typedef {ReturnType<typeof regenerateJob>} RegenerateJob */

/**
 * One line about a run, for the page and for its live updates (the status endpoint sends it along).
 * @param {JobStatus} status
 */
export function describeJob({ state, total, scanned, regenerated, skipped, failed }) {
  const counts = `${regenerated} regenerated, ${skipped} skipped, ${failed} failed`;
  switch (state) {
    case 'idle':
      return 'Not run since the server started.';
    case 'running':
      return `Regenerating… ${scanned} of ${total} pictures checked (${counts}).`;
    case 'stopping':
      return `Stopping… ${scanned} of ${total} pictures checked.`;
    case 'done':
      return `Done: ${scanned} pictures checked, ${counts}.`;
    case 'stopped':
      return `Stopped after ${scanned} of ${total} pictures (${counts}). Run it again to continue.`;
    case 'error':
      return `Stopped by an error after ${scanned} pictures (see the server log). Run it again to continue.`;
  }
}
