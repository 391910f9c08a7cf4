/**
 * Progress of a long command, on stderr so stdout keeps only the result (`--json` stays parseable): on a TTY a
 * `cli-progress` bar with ETA, redrawn in place; otherwise a plain line at most once a second and one at the end,
 * which reads well in a log file or CI output. Where the total is not known (a listing, until it ends) a counter
 * takes the bar's place: the count and the time so far.
 */
import cliProgress from 'cli-progress';

/** A running progress display. */
export interface Progress {
  /** `done` of `total` items; `detail` is shown after the counts (e.g. the last user and the failures so far). */
  update(done: number, total: number, detail?: string): void;
  /** Ends the display; the bar stays on screen in its last state. Safe to call twice. */
  stop(): void;
}

/** A running count of items whose total is not known yet. */
export interface Counter {
  /** `done` items so far. */
  update(done: number): void;
  /** Ends the display; the count stays on screen in its last state. Safe to call twice. */
  stop(): void;
}

/** Where progress goes, and whether it is a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Seconds between two plain progress lines. */
const PLAIN_INTERVAL_MS = 1000;

/** A bar with ETA when `stream` is a TTY, plain lines otherwise. */
export function createProgress(label: string, stream: ProgressStream): Progress {
  return stream.isTTY ? barProgress(label, stream) : plainProgress(label, stream);
}

/** `label 1200 objects | 3s`, redrawn in place when `stream` is a TTY; plain lines (`label 1200 objects`) otherwise. */
export function createCounter(label: string, unit: string, stream: ProgressStream): Counter {
  if (!stream.isTTY) {
    const lines = plainProgress(label, stream, (done) => `${done} ${unit}`);
    return { update: (done) => lines.update(done, done), stop: () => lines.stop() };
  }
  const bar = new cliProgress.SingleBar({ stream: stream as NodeJS.WritableStream, format: `${label} {value} ${unit} | {duration_formatted}`, hideCursor: true });
  const display = startOnce(bar);
  return { update: (done) => display.update(done, done), stop: () => display.stop() };
}

/** Displays one after another, for a command that works in phases (list, read, delete). */
export interface PhaseDisplays {
  /**
   * The display of `phase`: the one shown, or, when `phase` is new, `open()`'s, after stopping the one before (it
   * stays on screen as it ended).
   */
  show<D extends Progress | Counter>(phase: string, open: () => D): D;
  /** Stops the display shown. Safe to call twice. */
  stop(): void;
}

export function createPhaseDisplays(): PhaseDisplays {
  let current: { phase: string; display: Progress | Counter } | undefined;
  return {
    show(phase, open) {
      if (current?.phase !== phase) {
        current?.display.stop();
        current = { phase, display: open() };
      }
      return current.display as ReturnType<typeof open>;
    },
    stop() {
      current?.display.stop();
    },
  };
}

// --- internal ---

function barProgress(label: string, stream: ProgressStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: `${label} {bar} {percentage}% | {value}/{total} | ETA {eta_formatted} | {detail}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return startOnce(bar);
}

/** Drives `bar`: started by the first update (nothing is drawn before), its total raised to what is done. */
function startOnce(bar: cliProgress.SingleBar): Progress {
  let started = false;
  let stopped = false;
  return {
    update(done, total, detail = '') {
      if (stopped) return;
      const max = Math.max(total, done);
      if (!started) {
        bar.start(max, done, { detail });
        started = true;
      } else {
        if (max !== bar.getTotal()) bar.setTotal(max);
        bar.update(done, { detail });
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

/** `counts` writes what is done: `12/40 (30%)` by default. */
function plainProgress(
  label: string,
  stream: ProgressStream,
  counts = (done: number, total: number) => `${done}/${Math.max(total, done)} (${total > 0 ? Math.floor((100 * done) / total) : 100}%)`,
): Progress {
  let last: { done: number; total: number; detail: string } | undefined;
  let printed: typeof last;
  let lastAt = 0;
  let stopped = false;
  const print = () => {
    if (!last || last === printed) return;
    const { done, total, detail } = last;
    stream.write(`${label} ${counts(done, total)}${detail ? ` ${detail}` : ''}\n`);
    printed = last;
    lastAt = Date.now();
  };
  return {
    update(done, total, detail = '') {
      if (stopped) return;
      last = { done, total, detail };
      if (Date.now() - lastAt >= PLAIN_INTERVAL_MS) print();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      print();
    },
  };
}
