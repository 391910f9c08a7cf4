/**
 * The load generator: `concurrency` workers each doing one operation at a time (closed loop) — an HTTP request
 * through node's `http` with a keep-alive agent and a body built once in memory, or an in-process render for L.
 *
 * Two ways to run a phase:
 * - budget (default): run until `seconds` are spent and at least `minRequests` were sent (or `maxRequests` were
 *   sent); everything counts and throughput is completions ÷ wall time. For warm-ups, fixed batches and GETs, where
 *   one operation is far shorter than the phase.
 * - steady (`steady: true`): ramp up until `concurrency` operations completed (every worker busy, any server queue
 *   full), then sample the operations that start after that and complete within the next `seconds` (at least
 *   `minRequests` of them), and let the stragglers drain uncounted. Throughput comes from Little's law —
 *   concurrency ÷ mean latency — which is exact for a closed loop in steady state and, unlike counting completions
 *   in a window, does not quantise: M runs 16 uploads at once and finishes them in bursts seconds apart, P queues
 *   them and finishes them one by one, and a window of a few seconds would catch zero, one or two of M's bursts.
 */
import http from 'node:http';

const REQUEST_TIMEOUT = 60_000;

/**
 * @typedef {object} RequestSpec
 * @property {string} method
 * @property {string} path
 * @property {Record<string, string | number>} [headers]
 * @property {Buffer} [body]
 */

/**
 * @typedef {object} LoadResult
 * @property {number} count         counted operations
 * @property {number} ok            counted operations with the expected outcome
 * @property {Record<string, number>} statuses
 * @property {number} rps           ok operations per second (steady: by Little's law)
 * @property {number} p50           ms
 * @property {number} p99           ms
 * @property {number} mean          ms
 * @property {Buffer | null} lastBody
 * @property {string | null} firstError
 * @property {number[]} latencies   sorted, ms
 * @property {{ latency: number, ok: boolean, status: number | string }[]} samples  raw, for {@link mergeLoads}
 * @property {number} concurrency
 * @property {boolean} steady
 * @property {number} seconds        wall time of the phase (budget) or of the sampling window (steady)
 */

/**
 * @typedef {object} PhaseOptions
 * @property {number} concurrency
 * @property {number} seconds         time budget, or the counted window when `steady`
 * @property {boolean} [steady]       count a steady-state window only (see the file comment)
 * @property {number} [minRequests]   keep going past the budget until this many were sent (steady: sampled)
 * @property {number} [maxRequests]   budget mode: never send more than this
 */

/**
 * Runs one closed-loop phase of HTTP requests against 127.0.0.1:`port`.
 * @param {PhaseOptions & { port: number, request: RequestSpec, expectStatus?: number, expectBytes?: number }} options
 *   `expectBytes`: the response body length that counts as OK.
 * @returns {Promise<LoadResult>}
 */
export async function runLoad({ port, request, expectStatus = 200, expectBytes, ...phase }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: phase.concurrency });
  try {
    return await closedLoop(phase, async () => {
      const { status, body } = await send(agent, port, request);
      const ok = status === expectStatus && (expectBytes === undefined || body.length === expectBytes);
      return { ok, status, body };
    });
  } finally {
    agent.destroy();
  }
}

/**
 * The closed loop itself: `operation` resolves `{ ok, status, body? }` or rejects (counted as an error).
 * @param {PhaseOptions} phase
 * @param {() => Promise<{ ok: boolean, status: number | string, body?: Buffer }>} operation
 * @returns {Promise<LoadResult>}
 */
export async function closedLoop({ concurrency, seconds, steady = false, minRequests = 1, maxRequests = Infinity }, operation) {
  const samples = [];
  let sent = 0;
  let completed = 0;
  let firstError = null;
  const start = performance.now();
  // Steady mode: sampling opens when the ramp is over and closes `seconds` later (or once `minRequests` are in).
  let windowStart = steady ? Infinity : start;
  let windowEnd = steady ? Infinity : start + seconds * 1000;
  let lastBody = null;
  let sampled = 0;

  const more = steady
    ? () => performance.now() < windowEnd || sampled < minRequests
    : () => sent < maxRequests && (performance.now() < windowEnd || sent < minRequests);

  async function worker() {
    while (more()) {
      sent++;
      const began = performance.now();
      let outcome;
      try {
        outcome = await operation();
      } catch (err) {
        outcome = { ok: false, status: `error:${err.code ?? err.message}` };
        firstError ??= String(err.message ?? err);
      }
      const ended = performance.now();
      completed++;
      if (steady && windowStart === Infinity && completed === concurrency) {
        windowStart = ended;
        windowEnd = ended + seconds * 1000;
      }
      if (began < windowStart) continue; // the ramp is not counted
      if (steady && ended > windowEnd && sampled >= minRequests) continue; // nor the drain
      sampled++;
      samples.push({ latency: ended - began, ok: outcome.ok, status: outcome.status });
      if (outcome.ok) lastBody = outcome.body ?? lastBody;
      else if (firstError === null && outcome.body) {
        firstError = `${outcome.status}: ${outcome.body.subarray(0, 300).toString()}`;
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds_ = steady ? (Math.max(windowEnd, performance.now()) - windowStart) / 1000 : (performance.now() - start) / 1000;
  return summarise(samples, { concurrency, steady, seconds: seconds_, firstError, lastBody });
}

/**
 * Merges phases of one contender run at different times (alternating rounds) as if they were one phase.
 * @param {LoadResult[]} loads
 * @returns {LoadResult}
 */
export function mergeLoads(loads) {
  const samples = loads.flatMap((l) => l.samples);
  const seconds = loads.reduce((sum, l) => sum + l.seconds, 0);
  const firstError = loads.find((l) => l.firstError)?.firstError ?? null;
  const lastBody = loads.findLast((l) => l.lastBody)?.lastBody ?? null;
  const { concurrency = 1, steady = false } = loads[0] ?? {};
  return summarise(samples, { concurrency, steady, seconds, firstError, lastBody });
}

/**
 * Sends one request and collects the whole response.
 * @param {http.Agent | false} agent
 * @param {number} port
 * @param {RequestSpec} spec
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: Buffer }>}
 */
export function send(agent, port, spec) {
  return new Promise((resolve, reject) => {
    const headers = { ...spec.headers };
    if (spec.body) headers['Content-Length'] = spec.body.length;
    const req = http.request({ host: '127.0.0.1', port, method: spec.method, path: spec.path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(spec.body);
  });
}

/** Nearest-rank quantile of sorted `values` (ms). */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))];
}

// --- internal ---

function summarise(samples, { concurrency, steady, seconds, firstError, lastBody }) {
  const latencies = samples.map((s) => s.latency).sort((a, b) => a - b);
  const statuses = {};
  let ok = 0;
  for (const sample of samples) {
    statuses[sample.status] = (statuses[sample.status] ?? 0) + 1;
    if (sample.ok) ok++;
  }
  const mean = latencies.reduce((sum, v) => sum + v, 0) / Math.max(1, latencies.length);
  const okShare = samples.length ? ok / samples.length : 0;
  return {
    count: samples.length,
    ok,
    statuses,
    seconds,
    rps: steady ? (samples.length ? (concurrency * okShare * 1000) / mean : 0) : ok / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    mean,
    lastBody,
    firstError,
    latencies,
    samples,
    concurrency,
    steady,
  };
}
