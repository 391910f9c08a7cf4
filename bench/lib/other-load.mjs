/**
 * The machine's other load during a measurement: CPU time spent by processes that are neither the bench nor its
 * children (servers, s3rver), in cores (1.0 = one core busy the whole time). Load average cannot tell the bench's
 * own work from other people's; this can:
 *
 *   other = Δ(busy ticks of all CPUs, /proc/stat) − Δ(own ticks)
 *   own   = this process's utime + stime + cutime + cstime (children it has reaped) + each live child's utime + stime
 *
 * A child that exits during the window moves its ticks from "live child" to this process's cutime, so the sum
 * stays continuous. Sampled every second, so a report can give the window's mean and its worst second. Without
 * /proc (not Linux) every result is null and nothing is ever discarded as noisy.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux the bench runs on
const SAMPLE_MS = 1000;

/**
 * @typedef {object} OtherLoad
 * @property {number} mean     cores, over the whole window
 * @property {number} max      cores, the worst one-second sample (the mean when the window was shorter)
 * @property {number} seconds  window length
 */

/**
 * Starts watching; `stop()` returns the other load since then, or null without /proc.
 * @param {() => number[]} childPids  the bench's live children, asked at every sample
 * @returns {{ stop: () => OtherLoad | null }}
 */
export function watchOtherLoad(childPids) {
  const first = snapshot(childPids());
  if (!first) return { stop: () => null };
  let last = first;
  let max = 0;
  const timer = setInterval(() => {
    const now = snapshot(childPids());
    if (!now) return;
    max = Math.max(max, otherCores(last, now));
    last = now;
  }, SAMPLE_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const end = snapshot(childPids()) ?? last;
      const mean = otherCores(first, end);
      if (end.at - last.at > SAMPLE_MS / 2 || max === 0) max = Math.max(max, otherCores(last, end));
      return { mean, max: Math.max(max, mean), seconds: (end.at - first.at) / 1000 };
    },
  };
}

// --- internal ---

function otherCores(a, b) {
  const seconds = (b.at - a.at) / 1000;
  if (seconds <= 0) return 0;
  const other = b.busy - a.busy - (b.own - a.own);
  return Math.max(0, other / TICKS_PER_SECOND / seconds);
}

/** Busy ticks of the machine and of the bench, now; null without /proc. */
function snapshot(pids) {
  try {
    const cpu = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest is already inside user)
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0);
    const self = processTicks('self');
    let own = self.utime + self.stime + self.cutime + self.cstime;
    for (const pid of pids) {
      const child = processTicks(pid);
      if (child) own += child.utime + child.stime;
    }
    return { at: performance.now(), busy, own };
  } catch {
    return null;
  }
}

/** utime, stime, cutime, cstime of a process (fields 14–17 of /proc/<pid>/stat), or null when it is gone. */
function processTicks(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    if (pid === 'self') throw err;
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: fields are counted from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return { utime, stime, cutime, cstime };
}
