#!/usr/bin/env node
/**
 * The benchmark suite: `npm run bench` (full: 3 runs on real camera photos, ≈ 6 minutes on a quiet 2-core machine,
 * up to ≈ 11 when noisy rounds are repeated; writes bench/RESULTS.md and bench/.tmp/README-table.md) or
 * `npm run bench -- --quick` (smoke mode for CI: one brief run on synthetic inputs, ≈ 30 s; the report goes to
 * bench/.tmp/RESULTS-quick.md).
 *
 * Every contender runs in this one invocation on the same inputs, rounds interleaved, so ratios are meaningful on a
 * noisy machine; the whole measurement is repeated `--runs` times with fresh servers and every figure is reported as
 * `median (min–max)`. Rounds run while other processes loaded the machine are repeated (see lib/rounds.mjs).
 * Servers are child processes on 127.0.0.1 (their RSS is theirs alone); all of them are killed at the end, on error
 * and on Ctrl-C.
 *
 * Options:
 *   --quick                  smoke mode
 *   --runs N                 independent runs (default 3; 1 with --quick)
 *   --inputs photos|synthetic  real camera photos (default; synthetic with --quick) or generated ones
 *   --max-other-load C       repeat a timed round when other processes used more than C cores on average (default 0.25)
 *   --note "text"            a line for the report (e.g. "run while other test suites were running")
 *   --out path               where to write the report (README-table.md and results.json go next to it)
 *   --contenders L,M,P,S,F,H,R run a subset (a missing contender makes its targets n/a)
 * Env: BENCH_DIST — the built package to benchmark as P (default: dist/, as `npm run build` leaves it);
 *      BENCH_SERVER_NODE_ARGS — extra node flags for the server children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
 *
 * Exit code: 0 when every phase ran and every response was the expected one (targets may still FAIL — benchmarks
 * are not tests), 1 when the suite itself did not work or a server misbehaved (crash, unexpected status).
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { killChildrenOnExit, startServer, stopAll } from './lib/children.mjs';
import { INPUT_NAMES, loadInputs } from './lib/inputs.mjs';
import { send } from './lib/load.mjs';
import { MULTIPART_TYPE, multipartBody } from './lib/multipart.mjs';
import { concurrentUploads, flood, getComparison, memoryPeak, pairedUploads, warmUp } from './lib/phases.mjs';
import { renderReport } from './lib/report.mjs';
import { measuredRound } from './lib/rounds.mjs';
import { startS3rver } from './lib/s3rver.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const UPLOAD_PATH = '/upload-profile-picture/';
const FIELD = 'profile_picture';
const MiB = 1024 * 1024;

/**
 * The server contenders. `main` ones appear in every upload table; `variant`s are P with one thing changed, measured
 * next to P at the throughput target's point (12 MP, concurrency 4) and reported as a ratio to P. A variant with
 * `get: true` (another framework, on disk like P) also has its media route measured in P's GET round, beside P's and
 * `express.static`. Another framework is one more such line, once servers/frameworks.mjs knows it. The variants feed
 * no target: their rows are reported, with no goal.
 */
const CONTENDERS = {
  M: { script: 'peer.mjs', role: 'main' },
  P: { script: 'ours.mjs', role: 'main', env: { FRAMEWORK: 'express', BENCH_STORAGE: 'disk' } },
  S: {
    script: 'ours.mjs',
    role: 'variant',
    env: { FRAMEWORK: 'express', BENCH_STORAGE: 's3' },
    s3: true,
    description: 'P with `s3Storage` on a local s3rver',
  },
  F: {
    script: 'ours.mjs',
    role: 'variant',
    env: { FRAMEWORK: 'fastify', BENCH_STORAGE: 'disk' },
    get: true,
    description: 'P on Fastify (`profilePicturePlugin`)',
  },
  H: {
    script: 'ours.mjs',
    role: 'variant',
    env: { FRAMEWORK: 'hono', BENCH_STORAGE: 'disk' },
    get: true,
    description: 'P on Hono (`createRequestHandler` on `@hono/node-server`)',
  },
  // The defaults, master included: what the default 2048 px master costs under load (README "Master"). P and the
  // other variants run with `master: false`, like-for-like with the peer, which keeps no master.
  R: {
    script: 'ours.mjs',
    role: 'variant',
    env: { FRAMEWORK: 'express', BENCH_STORAGE: 'disk', BENCH_MASTER: '1' },
    description: 'the defaults (P with its default 2048 px master per upload)',
  },
};

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    inputs: { type: 'string' },
    'max-other-load': { type: 'string', default: '0.25' },
    note: { type: 'string' },
    out: { type: 'string' },
    contenders: { type: 'string', default: 'L,M,P,S,F,H,R' },
  },
});
const contenders = new Set(args.contenders.split(',').map((s) => s.trim().toUpperCase()));
const RUNS = Number(args.runs ?? (args.quick ? 1 : 3));
const MAX_OTHER_LOAD = Number(args['max-other-load']);
const INPUT_SOURCE = args.inputs ?? (args.quick ? 'synthetic' : 'photos');
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs ${args.runs}: expected a whole number ≥ 1`);
if (!(MAX_OTHER_LOAD > 0)) throw new Error(`--max-other-load ${args['max-other-load']}: expected cores > 0`);
if (!['photos', 'synthetic'].includes(INPUT_SOURCE)) throw new Error(`--inputs ${INPUT_SOURCE}: expected photos or synthetic`);

/**
 * How much of everything to do. Seconds are per contender and round. The target rounds (12 MP at concurrency 1 and
 * 4, memory, GET, flood) run in every run; the detail rounds (the other inputs, concurrency 16) only in the first.
 */
const PROFILE = args.quick
  ? {
      detail: [['small-jpeg', [1]]],
      detailRounds: 1,
      warmUpRequests: 0, // the wiring check's one upload each is warm-up enough for a smoke run
      memoryOf: ['P'],
      pairedSeconds: 0.3,
      pairedMinRounds: 2,
      detailPairedSeconds: 0.3,
      uploadSeconds: 0.3,
      detailUploadSeconds: 0.3,
      rounds: 1,
      memoryConcurrency: 4,
      memoryRequests: 4,
      getSeconds: 0.3,
      getRounds: 2,
      floodConnections: 16,
      floodPeer: false,
      maxRepeats: 1,
      repeatUntilSeconds: 20,
      budgetSeconds: 120,
    }
  : {
      // Cut to fit three runs in ~10 minutes: concurrency 16 only for the 12 MP photo, one round per contender.
      detail: [
        ['12mp-jpeg', [16]],
        ['small-jpeg', [1, 4]],
        ['png-alpha', [1, 4]],
      ],
      detailRounds: 1,
      warmUpRequests: 4,
      memoryOf: ['M', 'P'],
      pairedSeconds: 12,
      pairedMinRounds: 10,
      detailPairedSeconds: 6,
      uploadSeconds: 4,
      detailUploadSeconds: 3,
      rounds: 2,
      memoryConcurrency: 16,
      memoryRequests: 32,
      getSeconds: 4,
      getRounds: 4,
      floodConnections: 16,
      floodPeer: true,
      maxRepeats: 2,
      repeatUntilSeconds: 60 + 120 * RUNS, // past this, noisy rounds are kept (flagged) rather than repeated
      budgetSeconds: 300 + 300 * RUNS,
    };

killChildrenOnExit();
const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${PROFILE.budgetSeconds} s`);
  process.exit(1); // the exit hook kills the servers
}, PROFILE.budgetSeconds * 1000);
watchdog.unref();

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const tmp = path.join(here, '.tmp');
await mkdir(tmp, { recursive: true });
const mediaRoot = await mkdtemp(path.join(os.tmpdir(), 'profile-picture-bench-'));
process.once('exit', () => rmSync(mediaRoot, { recursive: true, force: true })); // also after Ctrl-C
const problems = [];
const variants = Object.entries(CONTENDERS).filter(([name, spec]) => spec.role === 'variant' && contenders.has(name));
const meta = {
  ...machine(),
  runsAsked: RUNS,
  maxOtherLoad: MAX_OTHER_LOAD,
  maxRepeats: PROFILE.maxRepeats,
  floodConnections: PROFILE.floodConnections,
  variants: Object.fromEntries(variants.map(([name, spec]) => [name, spec.description])),
  getVariants: variants.filter(([, spec]) => spec.get).map(([name]) => name),
};
const results = { meta, inputs: {}, inputSource: INPUT_SOURCE, inputNotes: [], photos: [], runs: [], problems };
const log = (...parts) => console.log(`[${elapsed().toFixed(1).padStart(5)}s]`, ...parts);

try {
  const needed = [...new Set(['12mp-jpeg', '12mp-5mb-jpeg', ...PROFILE.detail.map(([image]) => image)])];
  const loaded = await loadInputs(tmp, INPUT_NAMES.filter((name) => needed.includes(name)), { source: INPUT_SOURCE, log });
  const { inputs } = loaded;
  results.inputSource = loaded.source;
  results.inputNotes = loaded.notes;
  results.photos = loaded.photos;
  results.inputs = Object.fromEntries(
    Object.values(inputs).map(({ name, label, description, bytes, sha256, meta: m }) => [name, { label, description, bytes: bytes.length, sha256, meta: m }]),
  );
  log(`inputs (${loaded.source}):`, Object.values(inputs).map((i) => `${i.label} ${(i.bytes.length / MiB).toFixed(2)} MiB`).join(', '));
  const bodies = Object.fromEntries(Object.values(inputs).map((input) => [input.name, multipartBody(FIELD, input)]));

  const s3 = variants.some(([, spec]) => spec.s3)
    ? await startS3rver({ directory: await mkdtemp(path.join(mediaRoot, 's3rver-')), bucket: 'bench' })
    : null;
  if (s3) log(`s3rver: ${s3.endpoint}, pid ${s3.pid}`);
  const startContender = async (name) => {
    const spec = CONTENDERS[name];
    return startServer(path.join(here, 'servers', spec.script), {
      ...spec.env,
      BENCH_NAME: name,
      BENCH_MEDIA_DIR: await mkdtemp(path.join(mediaRoot, `${name}-`)),
      ...(spec.s3 ? { BENCH_S3: JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket }) } : {}),
    });
  };

  for (let index = 1; index <= RUNS; index++) {
    results.runs.push(await oneRun(index, { inputs, bodies, startContender }));
  }
} catch (err) {
  problems.push(`aborted: ${String(err?.stack ?? err).replaceAll('\n', ' ')}`);
  console.error(err);
} finally {
  await stopAll();
  await rm(mediaRoot, { recursive: true, force: true });
}

meta.seconds = elapsed();
meta.loadEnd = loadAverage();
const { report, readmeTable } = renderReport(results);
const out = args.out ?? (args.quick ? path.join(tmp, 'RESULTS-quick.md') : path.join(here, 'RESULTS.md'));
const tableOut = path.join(args.out || args.quick ? path.dirname(out) : tmp, args.quick ? 'README-table-quick.md' : 'README-table.md');
// The raw figures too (every run, round and connection), for a second look without measuring again.
const rawOut = path.join(path.dirname(tableOut), args.quick ? 'results-quick.json' : 'results.json');
await writeFile(out, report);
await writeFile(tableOut, readmeTable);
await writeFile(rawOut, `${JSON.stringify(results, null, 1)}\n`);
console.log(`\n${report}`);
console.log(`Report written to ${path.relative(process.cwd(), out)}, README table to ${path.relative(process.cwd(), tableOut)}, raw figures to ${path.relative(process.cwd(), rawOut)}`);
clearTimeout(watchdog);
process.exitCode = problems.length ? 1 : 0;

// --- helpers ---

/** One independent run: fresh servers, every target round, and (first run only) the detail rounds. */
async function oneRun(index, { inputs, bodies, startContender }) {
  const run = { index, uploads: [], limit: {}, memory: [], flood: [], get: null, rounds: [] };
  const policy = {
    maxOtherLoad: MAX_OTHER_LOAD,
    maxRepeats: PROFILE.maxRepeats,
    timeLeft: () => elapsed() < PROFILE.repeatUntilSeconds,
    log: run.rounds,
    say: log,
  };
  const servers = {};
  const servered = Object.keys(CONTENDERS).filter((name) => contenders.has(name));
  try {
    for (const name of servered) servers[name] = await startContender(name);
    log(`run ${index}/${RUNS}: servers`, Object.values(servers).map((s) => `${s.name} pid ${s.pid} port ${s.port}`).join(', '));
    /** @type {import('./lib/phases.mjs').Context} */
    const ctx = {
      profile: PROFILE,
      inputs,
      servers,
      main: servered.filter((name) => CONTENDERS[name].role === 'main'),
      variants: servered.filter((name) => CONTENDERS[name].role === 'variant'),
      getVariants: servered.filter((name) => CONTENDERS[name].role === 'variant' && CONTENDERS[name].get),
      limit: contenders.has('L'),
      uploadRequest: (image) => ({
        method: 'POST',
        path: UPLOAD_PATH,
        headers: { 'Content-Type': MULTIPART_TYPE, Accept: 'application/json' },
        body: bodies[image],
      }),
      startContender,
      http: { uploadPath: UPLOAD_PATH, field: FIELD },
      checkLoad(label, load) {
        if (load.ok !== load.count) {
          problems.push(`run ${index}, ${label}: ${load.count - load.ok} of ${load.count} responses not OK (${JSON.stringify(load.statuses)}); first: ${load.firstError}`);
        }
      },
      log,
    };
    // One upload each proves the wiring before anything is timed.
    for (const server of Object.values(servers)) {
      const { status, body } = await send(false, server.port, ctx.uploadRequest('12mp-jpeg'));
      if (status !== 200) throw new Error(`${server.name}: first upload answered ${status}: ${body.toString().slice(0, 500)}`);
    }
    const round = (label, measure, options) => measuredRound(policy, `${label}`, measure, options);
    const keepUploads = ({ uploads, limit }) => {
      run.uploads.push(...uploads);
      for (const [image, byConcurrency] of Object.entries(limit)) Object.assign((run.limit[image] ??= {}), byConcurrency);
    };

    await phase(index, 'uploads', async () => {
      await warmUp(ctx, '12mp-jpeg');
      keepUploads(await round('12 MP c1 (L, M, P paired)', () => pairedUploads(ctx, '12mp-jpeg')));
      keepUploads(await round(`12 MP c4 (${['L', ...ctx.main, ...ctx.variants].join(', ')})`, () => concurrentUploads(ctx, '12mp-jpeg', 4, { withVariants: true })));
    });
    if (index === 1) {
      await phase(index, 'detail', async () => {
        const profile = { ...PROFILE, pairedSeconds: PROFILE.detailPairedSeconds, uploadSeconds: PROFILE.detailUploadSeconds, rounds: PROFILE.detailRounds };
        const detail = { ...ctx, profile };
        for (const [image, concurrencies] of PROFILE.detail) {
          if (image !== '12mp-jpeg') await warmUp(ctx, image);
          for (const c of concurrencies) {
            const measure = () => (c === 1 ? pairedUploads(detail, image) : concurrentUploads(detail, image, c));
            keepUploads(await round(`detail ${inputs[image].label} c${c}`, measure, { repeatable: false }));
          }
        }
      });
    }
    await phase(index, 'memory', async () => {
      for (const name of ctx.main.filter((n) => PROFILE.memoryOf.includes(n))) run.memory.push(await round(`memory ${name}`, () => memoryPeak(ctx, name), { repeatable: false }));
    });
    if (servers.P) {
      await phase(index, 'GET', async () => {
        run.get = await round(`GET ${['P', ...ctx.getVariants].join(', ')} vs express.static`, () => getComparison(ctx));
      });
    }
    await phase(index, 'flood', async () => {
      const floodOf = ctx.main.filter((name) => name === 'P' || (PROFILE.floodPeer && index === 1));
      for (const name of floodOf) {
        for (const chunked of [true, false]) {
          const result = await round(`flood ${name} ${chunked ? 'chunked' : 'Content-Length'}`, () => flood(ctx, name, chunked), { repeatable: false });
          run.flood.push(result);
          const wrong = result.connections.filter((c) => c.atResponse?.status !== 413); // the server's answer; see figures.mjs
          if (result.crashed || (name === 'P' && wrong.length)) {
            problems.push(`run ${index}, flood ${name} ${chunked ? 'chunked' : 'Content-Length'}: ${result.crashed ? `SERVER CRASHED — ${result.error}` : `${wrong.length} connections without 413: ${JSON.stringify(wrong[0])}`}`);
          }
        }
      }
    });
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
  return run;
}

/** Runs one phase; a failure is recorded and the next phase still runs. */
async function phase(index, name, body) {
  try {
    await body();
  } catch (err) {
    problems.push(`run ${index}, ${name} phase failed: ${String(err?.stack ?? err).replaceAll('\n', ' ')}`);
    console.error(`bench: run ${index}, ${name} phase failed:`, err);
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    quick: args.quick,
    note: args.note ?? null,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown CPU',
    memoryGiB: os.totalmem() / 1024 ** 3,
    sharp: sharp.versions.sharp,
    vips: sharp.versions.vips,
    sharpConcurrency: sharp.concurrency(),
    threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    loadStart: loadAverage(),
  };
}

function loadAverage() {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}
