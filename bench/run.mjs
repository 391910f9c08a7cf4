#!/usr/bin/env node
/**
 * The benchmark suite: `npm run bench` (full, ≈ 3.5 minutes on 2 cores, writes bench/RESULTS.md) or
 * `npm run bench -- --quick` (smoke mode for CI: every phase runs briefly, well under a minute, and the report goes
 * to bench/.tmp/RESULTS-quick.md).
 *
 * Every contender runs in this one invocation on the same inputs, phases interleaved, so ratios are meaningful on
 * a noisy machine. Servers are child processes on 127.0.0.1 (their RSS is theirs alone); all of them are killed
 * at the end, on error and on Ctrl-C.
 *
 * Options:
 *   --quick              smoke mode
 *   --note "text"        a line for the report (e.g. "run while other test suites were running")
 *   --out path           where to write the report
 *   --contenders L,M,P   run a subset (a missing contender makes its targets n/a)
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
import { getPhase, memoryPhase, oversizePhase, uploadPhase } from './lib/phases.mjs';
import { evaluateTargets, renderReport } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const UPLOAD_PATH = '/upload-profile-picture/';
const FIELD = 'profile_picture';
const MiB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    note: { type: 'string' },
    out: { type: 'string' },
    contenders: { type: 'string', default: 'L,M,P' },
  },
});
const contenders = new Set(args.contenders.split(',').map((s) => s.trim().toUpperCase()));

/** How much of everything to do. Seconds are per contender and phase. */
const PROFILE = args.quick
  ? {
      images: ['12mp-jpeg', '1mp-jpeg'],
      concurrencies: [1, 4],
      pairedSeconds: 0.3,
      pairedMinRounds: 2,
      uploadSeconds: 0.3,
      rounds: 1,
      memoryConcurrency: 4,
      memoryRequests: 4,
      getSeconds: 0.3,
      getRounds: 2,
      budgetSeconds: 120,
    }
  : {
      images: INPUT_NAMES.filter((name) => name !== '12mp-5mb-jpeg'),
      concurrencies: [1, 4, 16],
      pairedSeconds: 15,
      pairedMinRounds: 10,
      uploadSeconds: 5,
      rounds: 2,
      memoryConcurrency: 16,
      memoryRequests: 32,
      getSeconds: 6,
      getRounds: 6,
      budgetSeconds: 600,
    };

killChildrenOnExit();
const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${PROFILE.budgetSeconds} s`);
  process.exit(1); // the exit hook kills the servers
}, PROFILE.budgetSeconds * 1000);
watchdog.unref();

const started = performance.now();
const tmp = path.join(here, '.tmp');
await mkdir(tmp, { recursive: true });
const mediaRoot = await mkdtemp(path.join(os.tmpdir(), 'profile-picture-bench-'));
process.once('exit', () => rmSync(mediaRoot, { recursive: true, force: true })); // also after Ctrl-C
const problems = [];
const results = { meta: machine(), limit: {}, uploads: [], memory: [], oversize: [], get: null, problems };
const log = (...parts) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`, ...parts);

try {
  const inputs = await loadInputs(tmp, [...new Set([...PROFILE.images, '12mp-jpeg', '12mp-5mb-jpeg'])]);
  log('inputs:', Object.values(inputs).map((i) => `${i.name} ${(i.bytes.length / MiB).toFixed(2)} MiB`).join(', '));
  const bodies = Object.fromEntries(Object.values(inputs).map((input) => [input.name, multipartBody(FIELD, input)]));
  const startContender = async (name) => {
    const script = path.join(here, 'servers', name === 'M' ? 'peer.mjs' : 'ours.mjs');
    return startServer(script, { BENCH_MEDIA_DIR: await mkdtemp(path.join(mediaRoot, `${name}-`)) });
  };
  const servers = {};
  for (const name of ['M', 'P']) if (contenders.has(name)) servers[name] = await startContender(name);
  log('servers:', Object.values(servers).map((s) => `${s.name} pid ${s.pid} port ${s.port}`).join(', '));

  /** @type {import('./lib/phases.mjs').Context} */
  const ctx = {
    profile: PROFILE,
    inputs,
    servers,
    contenders,
    uploadRequest: (image) => ({
      method: 'POST',
      path: UPLOAD_PATH,
      headers: { 'Content-Type': MULTIPART_TYPE, Accept: 'application/json' },
      body: bodies[image],
    }),
    startContender,
    http: { uploadPath: UPLOAD_PATH, field: FIELD },
    results,
    checkLoad(label, load) {
      if (load.ok !== load.count) {
        problems.push(`${label}: ${load.count - load.ok} of ${load.count} responses not OK (${JSON.stringify(load.statuses)}); first: ${load.firstError}`);
      }
    },
    log,
  };

  // One upload each proves the wiring before anything is timed.
  for (const server of Object.values(servers)) {
    const { status, body } = await send(false, server.port, ctx.uploadRequest('12mp-jpeg'));
    if (status !== 200) throw new Error(`${server.name}: first upload answered ${status}: ${body.toString().slice(0, 500)}`);
  }

  for (const [name, run] of Object.entries({
    uploads: uploadPhase,
    memory: memoryPhase,
    GET: getPhase,
    oversize: oversizePhase,
  })) {
    try {
      await run(ctx);
    } catch (err) {
      problems.push(`${name} phase failed: ${String(err?.stack ?? err).replaceAll('\n', ' ')}`);
      console.error(`bench: ${name} phase failed:`, err);
    }
  }
} catch (err) {
  problems.push(`aborted: ${String(err?.stack ?? err).replaceAll('\n', ' ')}`);
  console.error(err);
} finally {
  await stopAll();
  await rm(mediaRoot, { recursive: true, force: true });
}

results.meta.seconds = (performance.now() - started) / 1000;
results.meta.loadEnd = loadAverage();
sortUploads(results.uploads);
const report = renderReport(results, evaluateTargets(results));
const out = args.out ?? (args.quick ? path.join(tmp, 'RESULTS-quick.md') : path.join(here, 'RESULTS.md'));
await writeFile(out, report);
console.log(`\n${report}`);
console.log(`Report written to ${path.relative(process.cwd(), out)}`);
clearTimeout(watchdog);
process.exitCode = problems.length ? 1 : 0;

// --- helpers ---

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

function sortUploads(uploads) {
  const imageOrder = (image) => INPUT_NAMES.indexOf(image);
  uploads.sort(
    (a, b) => imageOrder(a.image) - imageOrder(b.image) || a.concurrency - b.concurrency || a.contender.localeCompare(b.contender),
  );
}
