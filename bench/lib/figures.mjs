/**
 * From runs to verdicts: the headline figures of each run, their median and spread over the runs, and the targets
 * judged on the medians. Rendering is report.mjs's job.
 */
const MiB = 1024 * 1024;
/** The upload endpoint's file limit (the library's default `limits.fileSize`). */
export const FILE_LIMIT = 5 * MiB;
/** How much a server may read past the limit before it answers 413: one socket read's worth. */
export const FLOOD_BOUND = FILE_LIMIT + 64 * 1024;

/**
 * @typedef {object} Spread
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number} n   how many runs had the figure
 */

/** Median, min and max of the finite `values`; null when there are none. @returns {Spread | null} */
export function spread(values) {
  const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length >> 1;
  const median = finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
  return { median, min: finite[0], max: finite.at(-1), n: finite.length };
}

/** The figures of one run that targets and summary rows are made of (null where not measured). */
export function runFigures(run, variants) {
  const upload = (contender, image, concurrency) =>
    run.uploads.find((u) => u.contender === contender && u.image === image && u.concurrency === concurrency);
  const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
  const p1 = upload('P', '12mp-jpeg', 1);
  const l1 = run.limit['12mp-jpeg']?.c1;
  const p4 = upload('P', '12mp-jpeg', 4);
  const m4 = upload('M', '12mp-jpeg', 4);
  const memP = run.memory.find((m) => m.contender === 'P');
  const memM = run.memory.find((m) => m.contender === 'M');
  const floodsP = run.flood.filter((f) => f.contender === 'P');
  return {
    c1: { P: p1?.p50 ?? null, L: l1?.p50 ?? null, ratio: ratio(p1?.p50, l1?.p50), interval: p1?.p50VsLimitInterval ?? null },
    c4: { P: p4?.rps ?? null, M: m4?.rps ?? null, ratio: ratio(p4?.rps, m4?.rps), allOk: Boolean(p4 && m4 && p4.ok === p4.count && m4.ok === m4.count) },
    variants: Object.fromEntries(
      variants.map((name) => {
        const v = upload(name, '12mp-jpeg', 4);
        return [name, { rps: v?.rps ?? null, vsP: ratio(v?.rps, p4?.rps), allOk: Boolean(v && v.ok === v.count) }];
      }),
    ),
    memory: {
      P: memP?.peakRss ?? null,
      M: memM?.peakRss ?? null,
      ratio: ratio(memP?.peakRss, memM?.peakRss),
      concurrency: memP?.concurrency ?? memM?.concurrency ?? null,
      allOk: Boolean(memP && memM && memP.ok === memP.count && memM.ok === memM.count),
    },
    get: {
      P: run.get?.ours.rps ?? null,
      static: run.get?.static.rps ?? null,
      ratio: ratio(run.get?.ours.rps, run.get?.static.rps),
      allOk: Boolean(run.get && run.get.ours.ok === run.get.ours.count && run.get.static.ok === run.get.static.count),
      // The framework variants' media routes, measured in the same rounds (absent from results older than them).
      variants: Object.fromEntries(
        Object.entries(run.get?.variants ?? {}).map(([name, v]) => [
          name,
          { rps: v.rps, vsP: ratio(v.rps, run.get.ours.rps), vsStatic: ratio(v.rps, run.get.static.rps), allOk: v.ok === v.count },
        ]),
      ),
    },
    flood: floodWorst(floodsP),
  };
}

/**
 * The worst connection of some floods: the most body bytes read before a response, with its run-independent
 * margin to {@link FLOOD_BOUND}, and whether every connection got its 413.
 */
export function floodWorst(floods) {
  const connections = floods.flatMap((f) => f.connections.map((c) => ({ ...c, chunked: f.chunked })));
  const crashed = floods.some((f) => f.crashed);
  if (!connections.length && !crashed) return null;
  let worst = null;
  for (const c of connections) {
    const read = c.atResponse?.received ?? Infinity;
    if (!worst || read > worst.read) worst = { read, chunked: c.chunked, id: c.id };
  }
  return {
    connections: connections.length,
    // The server's answer is what the target is about; whether the client still read it is reported beside it.
    all413: !crashed && connections.length > 0 && connections.every((c) => c.atResponse?.status === 413),
    crashed,
    statuses: countBy(connections.map((c) => c.atResponse?.status ?? 'none')),
    clientsRead: connections.filter((c) => c.status !== null).length,
    clientErrors: countBy(connections.filter((c) => c.status === null).map((c) => c.closedBy ?? c.endedBy)),
    worst,
    margin: worst ? FLOOD_BOUND - worst.read : null,
    readInTotal: Math.max(0, ...connections.map((c) => c.serverReceived ?? 0)),
  };
}

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} goal
 * @property {string} measured   Markdown
 * @property {boolean | null} pass  null when it could not be measured
 */

/**
 * The targets, each judged on the median over the runs (the flood: on the worst connection of all runs, since
 * it is a bound), plus one row per variant of P (ratio only, no goal) and one more per framework variant whose
 * GET was measured.
 * @param {ReturnType<typeof runFigures>[]} figures  one per run
 * @param {Record<string, string>} variantNames  variant → description
 * @param {number} floodConnections
 * @returns {{ targets: Target[], variants: Target[] }}
 */
export function evaluateTargets(figures, variantNames, floodConnections) {
  const over = (pick) => spread(figures.map(pick));
  const targets = [];
  {
    const ratio = over((f) => f.c4.ratio);
    targets.push({
      name: 'Throughput, 12 MP photo, concurrency 4',
      goal: 'P ≥ 1.5 × M',
      measured: ratio ? `P ${s(over((f) => f.c4.P), 2)}/s vs M ${s(over((f) => f.c4.M), 2)}/s = **${s(ratio, 2, '×')}**` : 'not measured',
      pass: ratio ? ratio.median >= 1.5 && figures.every((f) => f.c4.allOk) : null,
    });
  }
  {
    const ratio = over((f) => f.c1.ratio);
    targets.push({
      name: 'Latency p50, 12 MP photo, concurrency 1',
      goal: 'P ≤ 1.2 × L',
      measured: ratio ? `P ${s(over((f) => f.c1.P), 1)} ms vs L ${s(over((f) => f.c1.L), 1)} ms = **${s(ratio, 2, '×')}**` : 'not measured',
      pass: ratio ? ratio.median <= 1.2 : null,
    });
  }
  {
    const concurrency = figures.find((f) => f.memory.concurrency)?.memory.concurrency ?? 16;
    const bound = concurrency * FILE_LIMIT + 150 * MiB;
    const p = over((f) => f.memory.P);
    const m = over((f) => f.memory.M);
    targets.push({
      name: `Peak RSS, ${concurrency} concurrent ~5 MB uploads`,
      goal: `P ≤ M and ≤ ${concurrency} × 5 MiB + 150 MiB (${(bound / MiB).toFixed(0)} MiB)`,
      measured: p && m ? `P ${s(scale(p, MiB), 0, ' MiB')} vs M ${s(scale(m, MiB), 0, ' MiB')} = **${s(over((f) => f.memory.ratio), 2, '×')}**` : 'not measured',
      pass: p && m ? p.median <= m.median && p.median <= bound && figures.every((f) => f.memory.allOk) : null,
    });
  }
  {
    const all = figures.map((f) => f.flood).filter(Boolean);
    const worst = all.reduce((a, b) => (!a || (b.worst?.read ?? Infinity) > (a.worst?.read ?? Infinity) ? b : a), null);
    const connections = all.reduce((sum, f) => sum + f.connections, 0);
    targets.push({
      name: `50 MiB body on ${floodConnections} concurrent connections to the 5 MiB endpoint`,
      goal: `413 after reading ≤ 5 MiB + 64 KiB (${FLOOD_BOUND} B) on every connection`,
      measured: worst
        ? all.some((f) => f.crashed)
          ? '**server crashed**'
          : `worst of ${connections} connections (${all.length} run${all.length === 1 ? '' : 's'}, chunked and Content-Length): ${bytes(worst.worst?.read)} ` +
            `(${worst.worst?.chunked ? 'chunked' : 'Content-Length'}), margin **${signedBytes(worst.margin)}**; ` +
            `server answered ${counts(mergeCounts(all.map((f) => f.statuses)))}; ` +
            `${all.reduce((sum, f) => sum + f.clientsRead, 0)} of ${connections} clients read it` +
            (all.some((f) => f.clientsRead < f.connections) ? ` (the others: ${counts(mergeCounts(all.map((f) => f.clientErrors)))} while still sending)` : '')
        : 'not measured',
      pass: worst ? all.every((f) => f.all413) && worst.margin >= 0 : null,
    });
  }
  {
    const ratio = over((f) => f.get.ratio);
    targets.push({
      name: 'GET a stored variant, concurrency 16',
      goal: 'P ≥ 0.8 × express.static',
      measured: ratio ? `P ${s(over((f) => f.get.P), 0)}/s vs static ${s(over((f) => f.get.static), 0)}/s = **${s(ratio, 2, '×')}**` : 'not measured',
      pass: ratio ? ratio.median >= 0.8 && figures.every((f) => f.get.allOk) : null,
    });
  }
  const variants = Object.entries(variantNames).map(([name, description]) => {
    const ratio = over((f) => f.variants[name]?.vsP);
    return {
      name: `Throughput, 12 MP photo, concurrency 4: ${description} vs P (diskStorage)`,
      goal: 'reported (no goal)',
      measured: ratio ? `${name} ${s(over((f) => f.variants[name]?.rps), 2)}/s vs P ${s(over((f) => f.c4.P), 2)}/s = **${s(ratio, 2, '×')}**` : 'not measured',
      pass: ratio ? (figures.every((f) => f.variants[name]?.allOk) ? true : false) : null,
    };
  });
  for (const [name, description] of Object.entries(variantNames)) {
    const vsP = over((f) => f.get.variants[name]?.vsP);
    if (!vsP) continue; // not a framework variant, or its GET was not measured
    const vsStatic = over((f) => f.get.variants[name]?.vsStatic);
    variants.push({
      name: `GET a stored variant, concurrency 16: ${description} vs P (Express) and express.static`,
      goal: 'reported (no goal)',
      measured:
        `${name} ${s(over((f) => f.get.variants[name]?.rps), 0)}/s vs P ${s(over((f) => f.get.P), 0)}/s = **${s(vsP, 2, '×')}**, ` +
        `vs static ${s(over((f) => f.get.static), 0)}/s = **${s(vsStatic, 2, '×')}**`,
      pass: figures.every((f) => f.get.variants[name]?.allOk),
    });
  }
  return { targets, variants };
}

/** `median (min–max)`; just the value when there was one run. */
export function s(sp, digits, unit = '') {
  if (!sp) return '–';
  const f = (v) => v.toFixed(digits);
  return sp.n > 1 ? `${f(sp.median)}${unit} (${f(sp.min)}–${f(sp.max)})` : `${f(sp.median)}${unit}`;
}

/** Human-readable bytes. */
export function bytes(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (Math.abs(value) < 1024) return `${value} B`;
  if (Math.abs(value) < MiB) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / MiB).toFixed(2)} MiB`;
}

// --- internal ---

function scale(sp, by) {
  return { ...sp, median: sp.median / by, min: sp.min / by, max: sp.max / by };
}

function signedBytes(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value < 0 ? '−' : ''}${bytes(Math.abs(value))} (${value} B)` : '–';
}

/** How many times each value occurs. */
export function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** `413 × 16, EPIPE × 2` */
export function counts(byValue) {
  return Object.entries(byValue).map(([k, v]) => `${k} × ${v}`).join(', ');
}

function mergeCounts(list) {
  const out = {};
  for (const counts of list) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}
