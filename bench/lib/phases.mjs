/**
 * The benchmark's measurements. Each takes the shared context, measures one thing and returns what it found (it
 * records nothing itself: run.mjs keeps only the attempts of a round that ran on a quiet machine, see rounds.mjs).
 */
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { countBy } from './figures.mjs';
import { renderLargest, runLimit } from './limit.mjs';
import { mergeLoads, runLoad, send } from './load.mjs';
import { probeFlood } from './oversize.mjs';
import { bootstrapRatioInterval, runPaired } from './paired.mjs';

const MiB = 1024 * 1024;

/**
 * @typedef {object} Context
 * @property {Record<string, any>} profile      how much to do (see PROFILE in run.mjs)
 * @property {Record<string, import('./inputs.mjs').Input>} inputs
 * @property {Record<string, import('./children.mjs').ServerChild>} servers  this run's long-lived servers, by name
 * @property {string[]} main       the contenders of every upload table (M, P), among `servers`
 * @property {string[]} variants   P's variants (S, other frameworks), measured at the throughput target's point only
 * @property {string[]} getVariants  the variants whose media route is measured in the GET round too (other frameworks)
 * @property {boolean} limit       whether L is measured
 * @property {(image: string) => import('./load.mjs').RequestSpec} uploadRequest
 * @property {(name: string) => Promise<import('./children.mjs').ServerChild>} startContender  a fresh server
 * @property {{ uploadPath: string, field: string }} http
 * @property {(label: string, load: import('./load.mjs').LoadResult) => void} checkLoad
 * @property {(...parts: unknown[]) => void} log
 */

/**
 * @typedef {object} UploadFigures
 * @property {object[]} uploads   one entry per server contender: image, concurrency, contender, summary, peakRss
 * @property {Record<string, any>} limit  L's summary under `<image>.c<concurrency>`
 */

/** `profile.warmUpRequests` uploads of `image` to each server, before anything of it is timed. */
export async function warmUp(ctx, image) {
  const request = ctx.uploadRequest(image);
  const minRequests = ctx.profile.warmUpRequests;
  if (!minRequests) return;
  for (const server of Object.values(ctx.servers)) {
    await runLoad({ port: server.port, request, concurrency: 2, seconds: 0, minRequests, maxRequests: minRequests });
  }
}

/**
 * Concurrency 1: L, M and P take turns request by request (paired sampling: the same machine load for all three).
 * @returns {Promise<UploadFigures>}
 */
export async function pairedUploads(ctx, image) {
  const request = ctx.uploadRequest(image);
  const agents = [];
  const runners = [];
  if (ctx.limit) {
    const { bytes } = ctx.inputs[image];
    runners.push({ name: 'L', run: async () => (await renderLargest(bytes)).length > 0 });
  }
  for (const name of ctx.main) {
    const server = ctx.servers[name];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    runners.push({ name, run: async () => (await send(agent, server.port, request)).status === 200 });
    await server.resetMemory();
  }
  const paired = await runPaired({ runners, seconds: ctx.profile.pairedSeconds, minRounds: ctx.profile.pairedMinRounds });
  for (const agent of agents) agent.destroy();
  const figures = { uploads: [], limit: {} };
  for (const [name, load] of Object.entries(paired)) {
    if (name === 'L') {
      figures.limit[image] = { c1: summary(load) };
      continue;
    }
    const { peakRss } = await ctx.servers[name].memory();
    const vsLimit = paired.L ? bootstrapRatioInterval(load.byRound, paired.L.byRound) : null;
    figures.uploads.push({ image, concurrency: 1, contender: name, ...summary(load), peakRss, p50VsLimitInterval: vsLimit });
    ctx.checkLoad(`${name} ${image} c1`, load);
  }
  ctx.log(`${image} c1: ${Object.entries(paired).map(([n, l]) => `${n} p50 ${l.p50.toFixed(1)} ms`).join(', ')}`);
  return figures;
}

/**
 * Higher concurrency: L, the servers (and, with `withVariants`, P's variants) in short alternating rounds, so drift in
 * the machine's load hits all alike.
 * @returns {Promise<UploadFigures>}
 */
export async function concurrentUploads(ctx, image, concurrency, { withVariants = false } = {}) {
  const { profile, servers } = ctx;
  const request = ctx.uploadRequest(image);
  const names = [...(ctx.limit ? ['L'] : []), ...ctx.main, ...(withVariants ? ctx.variants : [])];
  const loads = Object.fromEntries(names.map((name) => [name, []]));
  const { bytes } = ctx.inputs[image];
  for (const name of names) if (name !== 'L') await servers[name].resetMemory();
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
  const figures = { uploads: [], limit: {} };
  const rates = [];
  for (const name of names) {
    const load = mergeLoads(loads[name]);
    rates.push(`${name} ${load.rps.toFixed(2)}/s`);
    if (name === 'L') {
      figures.limit[image] = { [`c${concurrency}`]: summary(load) };
      continue;
    }
    const { peakRss } = await servers[name].memory();
    figures.uploads.push({ image, concurrency, contender: name, ...summary(load), peakRss });
    ctx.checkLoad(`${name} ${image} c${concurrency}`, load);
  }
  ctx.log(`${image} c${concurrency}: ${rates.join(', ')}`);
  return figures;
}

/**
 * Peak RSS while `memoryConcurrency` large uploads are in flight, for one contender; a fresh process so earlier heap
 * does not count.
 */
export async function memoryPeak(ctx, name) {
  const { profile, inputs } = ctx;
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
    ctx.checkLoad(`${name} memory`, load);
    ctx.log(`${name} memory: peak ${(peakRss / MiB).toFixed(0)} MiB (${source}), idle ${(idleRss / MiB).toFixed(0)} MiB`);
    return {
      contender: name,
      concurrency: profile.memoryConcurrency,
      fileBytes: inputs['12mp-5mb-jpeg'].bytes.length,
      idleRss,
      peakRss,
      source,
      ...summary(load),
    };
  } finally {
    await server.stop();
  }
}

/**
 * GET of a stored variant at concurrency 16: P's media route versus `express.static` over the same file, same
 * process, and the media route of each framework variant (`ctx.getVariants`) over its own copy of that file, all
 * in the same alternating rounds.
 * @returns {Promise<object>} `{ ours, static, variants: { <name>: summary }, bytes, rounds }`
 */
export async function getComparison(ctx) {
  const { profile } = ctx;
  const targets = { ours: await storedVariant(ctx, 'P') };
  targets.static = { ...targets.ours, path: targets.ours.path.replace(/^\/media\//, '/static/') };
  for (const name of ctx.getVariants) targets[name] = await storedVariant(ctx, name);
  const order = Object.keys(targets);
  const loads = Object.fromEntries(order.map((which) => [which, []]));
  const request = (which) => ({ method: 'GET', path: targets[which].path });
  for (const which of order) {
    await runLoad({ port: targets[which].port, request: request(which), concurrency: 16, seconds: 0, minRequests: 200 });
  }
  for (let round = 0; round < profile.getRounds; round++) {
    for (const which of round % 2 ? [...order].reverse() : order) {
      const load = await runLoad({
        port: targets[which].port,
        request: request(which),
        concurrency: 16,
        seconds: profile.getSeconds / profile.getRounds,
        minRequests: 50,
        expectBytes: targets[which].size,
      });
      ctx.checkLoad(`GET ${which}`, load);
      loads[which].push(load);
    }
  }
  const merged = (which) => summary(mergeLoads(loads[which]));
  const get = {
    ours: merged('ours'),
    static: merged('static'),
    variants: Object.fromEntries(ctx.getVariants.map((name) => [name, merged(name)])),
    bytes: targets.ours.size,
    rounds: profile.getRounds,
  };
  const rates = Object.entries(get.variants).map(([name, x]) => `, ${name} ${x.rps.toFixed(0)}/s`).join('');
  ctx.log(`GET: P ${get.ours.rps.toFixed(0)}/s, express.static ${get.static.rps.toFixed(0)}/s${rates}`);
  return get;
}

/**
 * The 50 MiB flood on `floodConnections` connections at once to one contender, chunked or with a declared length. A
 * fresh server per flood: one that crashes must not take other measurements down with it, and the crash is itself
 * the finding.
 * @returns {Promise<object>} `{ contender, chunked, connections: [...] }` or, when the server died, `{ crashed, error }`
 */
export async function flood(ctx, name, chunked) {
  const label = `${name} ${ctx.profile.floodConnections} × 50 MiB ${chunked ? 'chunked' : 'Content-Length'}`;
  const server = await ctx.startContender(name);
  let result;
  try {
    const connections = await probeFlood({
      server,
      connections: ctx.profile.floodConnections,
      path: ctx.http.uploadPath,
      field: ctx.http.field,
      jpeg: ctx.inputs['12mp-jpeg'].bytes,
      total: 50 * MiB,
      chunked,
    });
    result = { contender: name, chunked, connections };
  } catch (err) {
    result = { contender: name, chunked, connections: [], crashed: /exited \(code/.test(err.message), error: crashSummary(err.message) };
  } finally {
    await server.stop();
  }
  const worst = Math.max(...result.connections.map((c) => c.atResponse?.received ?? Infinity));
  const statuses = countBy(result.connections.map((c) => c.status));
  ctx.log(`${label}: ${result.crashed ? 'server crashed' : `clients got ${JSON.stringify(statuses)}, worst ${worst} B read before its response`}`);
  return result;
}

/** The fields of a load result worth keeping in the results (not the raw latencies). */
export function summary(load) {
  const { count, ok, statuses, seconds, rps, p50, p99, mean, firstError } = load;
  return { count, ok, statuses, seconds, rps, p50, p99, mean, firstError };
}

// --- internal ---

/** Uploads the 12 MP photo to one server and finds its `md` variant: the media path, and the file's size on disk. */
async function storedVariant(ctx, name) {
  const server = ctx.servers[name];
  const { body } = await send(false, server.port, ctx.uploadRequest('12mp-jpeg'));
  const key = JSON.parse(body.toString()).picture?.variants?.md?.key;
  if (typeof key !== 'string') throw new Error(`no picture.variants.md.key in ${name}'s answer: ${body.toString().slice(0, 300)}`);
  const { size } = await stat(path.join(server.info.media, ...key.split('/')));
  return { port: server.port, path: `/media/${key}`, size };
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
