/**
 * Child-process side of every benchmark server: listens on 127.0.0.1 (port 0), reports the port over IPC, and answers
 * the parent's questions about memory and request bytes. The parent owns the lifecycle; a child exits as soon as its
 * IPC channel closes, so a crashed benchmark never leaves servers behind.
 *
 * Memory: peak RSS is the kernel's high-water mark (`VmHWM`, reset through `/proc/self/clear_refs`), which catches
 * spikes a sampler misses; where `/proc` is unavailable, `process.memoryUsage.rss()` sampled every 10 ms stands in.
 *
 * Request bytes: a request carrying `x-bench-count: <id>` is instrumented before the app sees it. `received` counts
 * bytes the HTTP parser pushed into the request stream (read from the socket), `delivered` counts bytes handed to
 * consumers as 'data' events; both are snapshotted when the response head is written, and keep counting afterwards
 * so a server that drains the rest of a refused body shows up. The id pairs each count with the client connection
 * that sent the request.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';

const STATUS = '/proc/self/status';
const CLEAR_REFS = '/proc/self/clear_refs';

/**
 * Serves `handler` on 127.0.0.1 and wires the IPC protocol.
 * @param {(req: http.IncomingMessage, res: http.ServerResponse) => void} handler
 * @param {{ name: string, info?: Record<string, unknown> }} meta
 */
export function serveBenchmark(handler, meta) {
  const memory = createMemoryProbe();
  /** @type {object[]} */
  let counted = [];

  const server = http.createServer((req, res) => {
    if (req.headers['x-bench-count']) counted.push(instrument(req, res));
    handler(req, res);
  });
  // Keep idle keep-alive sockets open across benchmark phases (the client's agent reuses them).
  server.keepAliveTimeout = 60_000;

  process.on('message', (message) => {
    switch (message?.type) {
      case 'mem-reset':
        memory.reset();
        process.send({ type: 'mem-reset', ok: true });
        break;
      case 'mem-peak':
        process.send({ type: 'mem-peak', ...memory.peak() });
        break;
      case 'counted':
        process.send({ type: 'counted', requests: counted });
        counted = [];
        break;
      case 'exit':
        server.close();
        process.exit(0);
    }
  });
  // The parent died or let go: never outlive it. SIGTERM exits normally, so `--cpu-prof` profiles get written.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));

  server.listen(0, '127.0.0.1', () => {
    process.send({ type: 'ready', port: server.address().port, name: meta.name, info: meta.info ?? {} });
  });
  return server;
}

// --- internal ---

function instrument(req, res) {
  const entry = { id: req.headers['x-bench-count'], received: 0, delivered: 0, atResponse: null, ended: false };
  const push = req.push;
  req.push = function countedPush(chunk, encoding) {
    if (chunk) entry.received += chunk.length;
    return push.call(this, chunk, encoding);
  };
  const emit = req.emit;
  req.emit = function countedEmit(event, ...args) {
    if (event === 'data') entry.delivered += args[0].length;
    return emit.call(this, event, ...args);
  };
  const writeHead = res.writeHead;
  res.writeHead = function countedWriteHead(status, ...rest) {
    entry.atResponse ??= { status, received: entry.received, delivered: entry.delivered };
    return writeHead.call(this, status, ...rest);
  };
  req.once('end', () => (entry.ended = true));
  return entry;
}

function createMemoryProbe() {
  const hasProc = canResetHighWaterMark();
  let sampledMax = 0;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > sampledMax) sampledMax = rss;
  };
  setInterval(sample, 10).unref();
  return {
    reset() {
      if (hasProc) writeFileSync(CLEAR_REFS, '5');
      sampledMax = 0;
      sample();
    },
    peak() {
      sample();
      const hwm = hasProc ? readHighWaterMark() : 0;
      return { peakRss: Math.max(hwm, sampledMax), rss: process.memoryUsage.rss(), source: hasProc ? 'VmHWM' : 'sampled' };
    },
  };
}

function canResetHighWaterMark() {
  try {
    writeFileSync(CLEAR_REFS, '5');
    return readHighWaterMark() > 0;
  } catch {
    return false;
  }
}

function readHighWaterMark() {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(STATUS, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}
