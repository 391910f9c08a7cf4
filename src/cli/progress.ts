/**
 * Progress of a long command, on stderr so stdout keeps only the result (`--json` stays parseable): on a TTY a
 * `cli-progress` bar with ETA, redrawn in place; otherwise a plain line at most once a second and one at the end,
 * which reads well in a log file or CI output.
 */
import cliProgress from 'cli-progress';

/** A running progress display. */
export interface Progress {
  /** `done` of `total` items; `detail` is shown after the counts (e.g. the last user and the failures so far). */
  update(done: number, total: number, detail?: string): void;
  /** Ends the display; the bar stays on screen in its last state. Safe to call twice. */
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

function plainProgress(label: string, stream: ProgressStream): Progress {
  let last: { done: number; total: number; detail: string } | undefined;
  let printed: typeof last;
  let lastAt = 0;
  let stopped = false;
  const print = () => {
    if (!last || last === printed) return;
    const { done, total, detail } = last;
    const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
    stream.write(`${label} ${done}/${Math.max(total, done)} (${percent}%)${detail ? ` ${detail}` : ''}\n`);
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
