/**
 * The benchmark's phases. Each takes the shared context, measures one thing and appends to `ctx.results`; run.mjs
 * sequences them and keeps going when one fails.
 */
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { renderLargest, runLimit } from './limit.mjs';
import { mergeLoads, runLoad, send } from './load.mjs';
import { probeOversize } from './oversize.mjs';
import { bootstrapRatioInterval, runPaired } from './paired.mjs';

const MiB = 1024 * 1024;

/**
 * @typedef {object} Context
 * @property {Record<string, any>} profile      how much to do (see PROFILES in run.mjs)
 * @property {Record<string, import('./inputs.mjs').Input>} inputs
 * @property {Record<string, import('./children.mjs').ServerChild>} servers  the long-lived M and P
 * @property {Set<string>} contenders
 * @property {(image: string) => import('./load.mjs').RequestSpec} uploadRequest
 * @property {(name: string) => Promise<import('./children.mjs').ServerChild>} startContender  a fresh server
 * @property {{ uploadPath: string, field: string }} http
 * @property {any} results
 * @property {(label: string, load: import('./load.mjs').LoadResult) => void} checkLoad
 * @property {(...parts: unknown[]) => void} log
 */

/**
 * Uploads of every image at every concurrency. Concurrency 1: L, M and P take turns request by request (paired
 * sampling: the same machine load for all three). Higher: L, M and P in short alternating rounds, so drift in the
 * machine's load hits all alike.
 */
export async function uploadPhase(ctx) {
  const { profile, servers } = ctx;
  for (const image of profile.images) {
    const request = ctx.uploadRequest(image);
    for (const server of Object.values(servers)) {
      await runLoad({ port: server.port, request, concurrency: 2, seconds: 0, minRequests: 4 }); // warm-up
    }
    for (const concurrency of profile.concurrencies) {
      if (concurrency === 1) await pairedUploads(ctx, image, request);
      else await concurrentUploads(ctx, image, request, concurrency);
    }
  }
}

/** Peak RSS while `memoryConcurrency` large uploads are in flight; fresh processes so earlier heap does not count. */
export async function memoryPhase(ctx) {
  const { profile, inputs, results } = ctx;
  for (const name of ['M', 'P'].filter((n) => ctx.contenders.has(n))) {
    const server = await ctx.startContender(name);
    try {
      const request = ctx.uploadRequest('12mp-5mb-jpeg');
      await send(false, server.port, request); // load code and sharp before the window opens
      await sleep(200);
      const idleRss = (await server.memory()).rss;
      await server.resetMemory();
      const load = await runLoad({
        port: server.port,
        request,
        concurrency: profile.memoryConcurrency,
        seconds: 0,
        minRequests: profile.memoryRequests,
        maxRequests: profile.memoryRequests,
      });
      const { peakRss, source } = await server.memory();
      results.memory.push({
        contender: name,
        concurrency: profile.memoryConcurrency,
        fileBytes: inputs['12mp-5mb-jpeg'].bytes.length,
        idleRss,
        peakRss,
        source,
        ...summary(load),
      });
      ctx.checkLoad(`${name} memory`, load);
      ctx.log(`${name} memory: peak ${(peakRss / MiB).toFixed(0)} MiB (${source}), idle ${(idleRss / MiB).toFixed(0)} MiB`);
    } finally {
      await server.stop();
    }
  }
}

/** GET of a stored variant: P's media route versus `express.static` over the same file, same process. */
export async function getPhase(ctx) {
  const { profile, servers, results } = ctx;
  const server = servers.P;
  if (!server) return;
  const { body } = await send(false, server.port, ctx.uploadRequest('12mp-jpeg'));
  const key = JSON.parse(body.toString()).picture?.variants?.md?.key;
  if (typeof key !== 'string') throw new Error(`no picture.variants.md.key in P's answer: ${body.toString().slice(0, 300)}`);
  const { size } = await stat(path.join(server.info.media, ...key.split('/')));
  const routes = { ours: `/media/${key}`, static: `/static/${key}` };
  const loads = { ours: [], static: [] };
  for (const which of ['ours', 'static']) {
    await runLoad({ port: server.port, request: { method: 'GET', path: routes[which] }, concurrency: 16, seconds: 0, minRequests: 200 });
  }
  for (let round = 0; round < profile.getRounds; round++) {
    for (const which of round % 2 ? ['static', 'ours'] : ['ours', 'static']) {
      const load = await runLoad({
        port: server.port,
        request: { method: 'GET', path: routes[which] },
        concurrency: 16,
        seconds: profile.getSeconds / profile.getRounds,
        minRequests: 50,
        expectBytes: size,
      });
      ctx.checkLoad(`GET ${which}`, load);
      loads[which].push(load);
    }
  }
  results.get = {
    ours: summary(mergeLoads(loads.ours)),
    static: summary(mergeLoads(loads.static)),
    bytes: size,
    rounds: profile.getRounds,
  };
  ctx.log(`GET: P ${results.get.ours.rps.toFixed(0)}/s, express.static ${results.get.static.rps.toFixed(0)}/s`);
}

/**
 * A 50 MB body to the 5 MiB endpoint, chunked and with a declared length. A fresh server per probe: one that crashes
 * must not take other measurements down with it, and the crash is itself the finding.
 */
export async function oversizePhase(ctx) {
  const { inputs, results } = ctx;
  for (const name of ['M', 'P'].filter((n) => ctx.contenders.has(n))) {
    for (const chunked of [true, false]) {
      const label = `${name} 50 MB ${chunked ? 'chunked' : 'Content-Length'}`;
      const server = await ctx.startContender(name);
      let probe;
      try {
        probe = await probeOversize({
          server,
          path: ctx.http.uploadPath,
          field: ctx.http.field,
          jpeg: inputs['12mp-jpeg'].bytes,
          total: 50 * 1000 * 1000,
          chunked,
        });
      } catch (err) {
        probe = { chunked, status: null, crashed: /exited \(code/.test(err.message), error: crashSummary(err.message) };
      } finally {
        await server.stop();
      }
      results.oversize.push({ contender: name, ...probe });
      if (probe.status !== 413) {
        results.problems.push(`${label}: ${probe.crashed ? 'SERVER CRASHED' : `status ${probe.status}`} — ${probe.error ?? probe.responseBody}`);
      }
      ctx.log(
        `${label}: ${probe.crashed ? 'server crashed' : `${probe.status} after ${probe.atResponse?.received} B read, ${probe.serverReceived} B in total`}`,
      );
    }
  }
}

/** The fields of a load result worth keeping in the results (not the raw latencies). */
export function summary(load) {
  const { count, ok, statuses, seconds, rps, p50, p99, mean, firstError } = load;
  return { count, ok, statuses, seconds, rps, p50, p99, mean, firstError };
}

// --- internal ---

async function pairedUploads(ctx, image, request) {
  const { servers, results } = ctx;
  const agents = [];
  const runners = [];
  if (ctx.contenders.has('L')) {
    const { bytes } = ctx.inputs[image];
    runners.push({ name: 'L', run: async () => (await renderLargest(bytes)).length > 0 });
  }
  for (const server of Object.values(servers)) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    runners.push({ name: server.name, run: async () => (await send(agent, server.port, request)).status === 200 });
    await server.resetMemory();
  }
  const paired = await runPaired({ runners, seconds: ctx.profile.pairedSeconds, minRounds: ctx.profile.pairedMinRounds });
  for (const agent of agents) agent.destroy();
  for (const [name, load] of Object.entries(paired)) {
    if (name === 'L') {
      (results.limit[image] ??= {}).c1 = summary(load);
      continue;
    }
    const { peakRss } = await servers[name].memory();
    const vsLimit = paired.L ? bootstrapRatioInterval(load.byRound, paired.L.byRound) : null;
    results.uploads.push({ image, concurrency: 1, contender: name, ...summary(load), peakRss, p50VsLimitInterval: vsLimit });
    ctx.checkLoad(`${name} ${image} c1`, load);
  }
  ctx.log(`${image} c1: ${Object.entries(paired).map(([n, l]) => `${n} p50 ${l.p50.toFixed(1)} ms`).join(', ')}`);
}

async function concurrentUploads(ctx, image, request, concurrency) {
  const { profile, servers, results } = ctx;
  const names = [...(ctx.contenders.has('L') ? ['L'] : []), ...Object.keys(servers)];
  const loads = Object.fromEntries(names.map((name) => [name, []]));
  const { bytes } = ctx.inputs[image];
  for (const server of Object.values(servers)) await server.resetMemory();
  const seconds = profile.uploadSeconds / profile.rounds;
  for (let round = 0; round < profile.rounds; round++) {
    const order = round % 2 ? [...names].reverse() : names;
    for (const name of order) {
      loads[name].push(
        name === 'L'
          ? await runLimit({ bytes, concurrency, seconds, steady: true, minRequests: concurrency })
          : await runLoad({ port: servers[name].port, request, concurrency, seconds, steady: true, minRequests: concurrency }),
      );
    }
  }
  const rates = [];
  for (const name of names) {
    const load = mergeLoads(loads[name]);
    rates.push(`${name} ${load.rps.toFixed(2)}/s`);
    if (name === 'L') {
      (results.limit[image] ??= {})[`c${concurrency}`] = summary(load);
      continue;
    }
    const { peakRss } = await servers[name].memory();
    results.uploads.push({ image, concurrency, contender: name, ...summary(load), peakRss });
    ctx.checkLoad(`${name} ${image} c${concurrency}`, load);
  }
  ctx.log(`${image} c${concurrency}: ${rates.join(', ')}`);
}

/** The error line and first stack frame of a child's dying words, on one line (safe inside a Markdown table). */
function crashSummary(text) {
  const lines = text.split('\n').map((line) => line.trim());
  const error = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines[0];
  const frame = lines.find((line) => line.startsWith('at ')) ?? '';
  return `${error} ${frame}`.replaceAll('|', '/');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
