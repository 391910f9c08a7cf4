/**
 * The oversized-body flood: streams 50 MiB multipart uploads (a real JPEG followed by filler) on many connections at
 * once to an endpoint with a 5 MiB limit, and asks the server how many body bytes it had read from each when it wrote
 * the 413 — and how many it read in total, because a server that answers early but then drains the rest still pays
 * for the whole body. Many at once, because one connection alone leaves the server all the time in the world to
 * stop reading; sixteen make it juggle.
 *
 * Each client behaves like a browser: it keeps sending (with backpressure) until the server closes the connection or
 * `linger` ms after the response arrived, then gives up.
 */
import http from 'node:http';
import { MULTIPART_TYPE, multipartFrame } from './multipart.mjs';

const CHUNK = 64 * 1024;

/**
 * The flood: `connections` oversized bodies sent at once, each on its own connection, and the server's count of what
 * it read from each. One entry per connection, in connection order.
 * @param {object} options
 * @param {import('./children.mjs').ServerChild} options.server
 * @param {number} options.connections
 * @param {string} options.path
 * @param {string} options.field
 * @param {Buffer} options.jpeg       the start of the file content (so sniffing sees an image)
 * @param {number} options.total      body size in bytes, per connection
 * @param {boolean} options.chunked   true: Transfer-Encoding chunked; false: declared Content-Length
 * @param {number} [options.linger]   ms to keep sending after the response
 */
export async function probeFlood({ server, connections, ...options }) {
  await server.counted(); // discard anything instrumented before
  const sent = await Promise.all(Array.from({ length: connections }, (_, i) => sendOversize({ ...options, port: server.port, id: `flood-${i}` })));
  await new Promise((resolve) => setTimeout(resolve, 200)); // let the server see the closes
  const counts = new Map((await server.counted()).map((entry) => [entry.id, entry]));
  return sent.map((client) => {
    const entry = counts.get(client.id);
    return {
      ...client,
      atResponse: entry?.atResponse ?? null,
      serverReceived: entry?.received ?? null,
      serverDelivered: entry?.delivered ?? null,
    };
  });
}

// --- internal ---

/** One oversized body on its own connection, sent like a browser does (see the file comment); client side only. */
async function sendOversize({ port, id, path, field, jpeg, total, chunked, linger = 500 }) {
  const { head, tail } = multipartFrame(field, { filename: 'huge.jpg', mime: 'image/jpeg' });
  const filler = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) filler[i] = (i * 2654435761) >>> 24; // no CR/LF-boundary pattern
  const content = total - head.length - tail.length;

  const headers = { 'Content-Type': MULTIPART_TYPE, Accept: 'application/json', 'x-bench-count': id };
  if (!chunked) headers['Content-Length'] = total;
  const started = performance.now();
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers, agent: false });

  let response = null;
  let stop;
  const stopped = new Promise((resolve) => (stop = resolve));
  let closedBy = null;
  req.on('response', (res) => {
    const chunks = [];
    res.on('data', (chunk) => chunks.push(chunk));
    res.on('end', () => {
      response.body = Buffer.concat(chunks).toString().slice(0, 300);
    });
    res.on('error', () => {});
    response = { status: res.statusCode, ms: performance.now() - started, connection: res.headers.connection ?? '', body: '' };
    setTimeout(() => stop('linger'), linger);
  });
  req.on('error', (err) => {
    closedBy ??= err.code ?? err.message;
    stop('error');
  });
  req.on('close', () => {
    closedBy ??= 'close';
    stop('close');
  });
  const overall = setTimeout(() => stop('timeout'), 30_000);

  let sent = 0;
  let reason = null;
  stopped.then((why) => (reason ??= why));
  const write = async (chunk) => {
    if (reason) return false;
    sent += chunk.length;
    if (!req.write(chunk)) await Promise.race([new Promise((resolve) => req.once('drain', resolve)), stopped]);
    return !reason;
  };
  if (await write(head)) {
    let left = content;
    let first = true;
    while (left > 0) {
      const piece = first ? jpeg.subarray(0, Math.min(left, jpeg.length)) : filler.subarray(0, Math.min(left, CHUNK));
      first = false;
      left -= piece.length;
      if (!(await write(piece))) break;
    }
    if (left === 0 && !reason) {
      await write(tail);
      req.end();
    }
  }
  await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, linger + 5000))]);
  clearTimeout(overall);
  req.destroy();
  return {
    id,
    chunked,
    total,
    status: response?.status ?? null,
    responseMs: response?.ms ?? null,
    responseConnection: response?.connection ?? null,
    responseBody: response?.body ?? null,
    clientSent: sent,
    endedBy: reason,
    closedBy,
  };
}
