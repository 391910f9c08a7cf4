/**
 * Helpers for the intake tests: a framework-free `node:http` server whose handler calls `uploadRequest()` and
 * answers the way adapters must (status + `toErrorBody`, `Connection: close` when the body was not read to its
 * end, `Retry-After` for BUSY), hand-built multipart bodies, and a raw-socket client that can lie, trickle and hang up.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  createProfilePictures,
  diskStorage,
  isProfilePictureError,
  memoryUserRepository,
  toErrorBody,
  type PictureRecord,
  type ProfilePictures,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { shouldCloseConnection } from '../../src/intake/upload-request.js';

export const BOUNDARY = '----intake-test-boundary-7MA4YWxkTrZu0gW';
export const MiB = 1024 * 1024;

/** How one `uploadRequest()` call ended on the server. */
export interface Outcome {
  record?: PictureRecord;
  /** The error's code (`INTERNAL` for anything but a ProfilePictureError). */
  code?: string;
  error?: unknown;
  /** Bytes the server had read from the socket when `uploadRequest()` settled. */
  bytesRead: number;
}

export interface IntakeServer {
  port: number;
  root: string;
  pictures: ProfilePictures;
  /** Resolves when the handler for the request with `x-test-id: id` has settled. */
  outcome(id: string): Promise<Outcome>;
  /** Resolves once the handler for `id` has been called (and so has taken a slot or a queue place, synchronously). */
  started(id: string): Promise<void>;
  /** Resolves once the server has read the body of request `id` to its end. */
  bodyEnded(id: string): Promise<void>;
  /** The AbortController whose signal the handler passed for request `id`. */
  controller(id: string): AbortController | undefined;
  /**
   * Every file under the storage root, temp files included, as sorted relative paths, once the clean-up of earlier
   * uploads (deleted after their answers) has finished.
   */
  files(): Promise<string[]>;
  /** The record and files, to compare before and after a failing request. */
  snapshot(userId: string): Promise<{ record: PictureRecord | null; files: string[] }>;
  close(): Promise<void>;
}

type Options = Omit<ProfilePicturesOptions, 'storage' | 'users'> & {
  /** Wraps the disk storage, e.g. to hold `put` until a test lets it go. */
  wrapStorage?: (storage: StorageAdapter) => StorageAdapter;
  /** Wraps the memory repository, e.g. to count its reads. */
  wrapUsers?: (users: UserRepository) => UserRepository;
};

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Starts a server on 127.0.0.1:0 (POST /upload/<userId>) with diskStorage in a fresh temp directory. */
export async function startIntakeServer({ wrapStorage, wrapUsers, ...options }: Options = {}): Promise<IntakeServer> {
  const root = await mkdtemp(path.join(tmpdir(), 'pp-intake-'));
  const disk = diskStorage({ root });
  const pictures = createProfilePictures({
    storage: wrapStorage ? wrapStorage(disk) : disk,
    users: wrapUsers ? wrapUsers(memoryUserRepository()) : memoryUserRepository(),
    variants: { sm: 32, md: 64 },
    ...options,
    limits: { fileSize: MiB, ...options.limits },
  });
  const outcomes = new Map<string, ReturnType<typeof deferred<Outcome>>>();
  const starts = new Map<string, ReturnType<typeof deferred<void>>>();
  const controllers = new Map<string, AbortController>();
  const bodyEnds = new Map<string, ReturnType<typeof deferred<void>>>();
  const slot = <T>(map: Map<string, ReturnType<typeof deferred<T>>>, id: string) => {
    let entry = map.get(id);
    if (!entry) map.set(id, (entry = deferred<T>()));
    return entry;
  };
  let sequence = 0;

  const server = http.createServer(async (req, res) => {
    const id = String(req.headers['x-test-id'] ?? `anonymous-${sequence++}`);
    const userId = decodeURIComponent(req.url!.replace(/^\/upload\//, ''));
    const controller = new AbortController();
    controllers.set(id, controller);
    // An 'end' listener does not start the flow of data: it only watches what the intake reads.
    req.once('end', () => slot(bodyEnds, id).resolve());
    const uploading = pictures.uploadRequest(userId, req, { signal: controller.signal });
    slot(starts, id).resolve();
    let outcome: Outcome;
    try {
      const record = await uploading;
      outcome = { record, bytesRead: req.socket.bytesRead };
      send(res, 200, { picture: record });
    } catch (err) {
      const known = isProfilePictureError(err) ? err : undefined;
      outcome = { error: err, code: known?.code ?? 'INTERNAL', bytesRead: req.socket.bytesRead };
      const headers: Record<string, string> = {};
      // What adapters do: the unread rest of the body cannot be parsed as a next request.
      if (shouldCloseConnection(req) && !req.headers['x-keep-alive-anyway']) headers.connection = 'close';
      if (known?.code === 'BUSY' || known?.code === 'TOO_MANY_UPLOADS') headers['retry-after'] = String(known.details?.retryAfter);
      send(res, known?.status ?? 500, toErrorBody(err), headers);
    }
    slot(outcomes, id).resolve(outcome);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const files = async () => {
    await pictures.flush();
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)))
      .sort();
  };

  return {
    port,
    root,
    pictures,
    outcome: (id) => slot(outcomes, id).promise,
    started: (id) => slot(starts, id).promise,
    bodyEnded: (id) => slot(bodyEnds, id).promise,
    controller: (id) => controllers.get(id),
    files,
    async snapshot(userId) {
      return { record: await pictures.get(userId), files: await files() };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Starts a server for the surrounding describe/file and closes it afterwards. */
export function useIntakeServer(options: Options = {}): () => IntakeServer {
  let server: IntakeServer | undefined;
  beforeAll(async () => {
    server = await startIntakeServer(options);
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => server!;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

// --- multipart bodies ------------------------------------------------------------------------------------------

export interface Part {
  name: string;
  /** Makes it a file part (busboy's rule); may be empty, as browsers send when no file is chosen. */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A `multipart/form-data` body, closing boundary included. */
export function multipart(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'latin1'), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The parts before a file's bytes: the opening of a body whose file data the caller streams. */
export function fileHead(name = 'profile_picture', boundary = BOUNDARY): Buffer {
  return Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="me.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
}

export const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

// --- raw socket client -------------------------------------------------------------------------------------------

/** A parsed HTTP response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: { error?: { code: string; message: string; details?: Record<string, unknown> }; picture?: PictureRecord };
  /** Body bytes the client had written when the response was complete. */
  writtenWhenAnswered: number;
}

/** An open request on a raw socket: write the body at your own pace; `response` resolves on a complete response. */
export interface RawRequest {
  socket: net.Socket;
  /** Writes body bytes; resolves when the socket accepted them (or the socket is gone). */
  write(bytes: Buffer | string): Promise<boolean>;
  /** Body bytes written so far. */
  readonly written: number;
  response: Promise<RawResponse>;
  /** Resolves when the connection is fully closed (for this half-open client: reset, or destroyed by the test). */
  closed: Promise<void>;
  /** Resolves when the server has closed its side (FIN) or the connection is gone. */
  ended: Promise<void>;
  /** Whether a complete response has arrived. */
  readonly answered: boolean;
  /** Socket errors the client saw (ECONNRESET when the server reset the connection). */
  errors: Error[];
}

/**
 * Opens a socket and sends the request head: `POST /upload/<userId>`, or `POST <target>` when given. `headers` are
 * sent as given (no Content-Length unless you pass one).
 */
export function openRequest(
  port: number,
  userId: string,
  headers: Record<string, string | number>,
  target = `/upload/${encodeURIComponent(userId)}`,
): RawRequest {
  // Half-open like a browser mid-upload: a FIN from the server does not stop this client from sending.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  let head = `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.write(`${head}\r\n`);
  let written = 0;
  let answered = false;
  let received = Buffer.alloc(0);

  const response = new Promise<RawResponse>((resolve, reject) => {
    const tryParse = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      if (status === 100) {
        received = received.subarray(end + 4);
        return tryParse();
      }
      const responseHeaders: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        responseHeaders[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(responseHeaders['content-length'] ?? 0);
      if (received.length < end + 4 + length) return;
      const body = received.subarray(end + 4, end + 4 + length).toString('utf8');
      answered = true;
      let json = {};
      try {
        json = JSON.parse(body);
      } catch {
        // Node's own 400 for unparsable requests has a non-JSON body.
      }
      resolve({ status, headers: responseHeaders, body, json, writtenWhenAnswered: written });
    };
    socket.on('data', (chunk) => {
      if (answered) return;
      received = Buffer.concat([received, chunk]);
      tryParse();
    });
    socket.on('close', () => {
      if (!answered) reject(new Error(`connection closed without a complete response (${received.length} bytes)`));
    });
  });
  response.catch(() => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const ended = new Promise<void>((resolve) => {
    socket.on('end', () => resolve());
    socket.on('close', () => resolve());
  });

  return {
    socket,
    response,
    closed,
    ended,
    errors,
    get written() {
      return written;
    },
    get answered() {
      return answered;
    },
    write(bytes) {
      if (socket.destroyed || !socket.writable) return Promise.resolve(false);
      written += bytes.length;
      return new Promise((resolve) => {
        if (socket.write(bytes)) resolve(true);
        else {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve(!socket.destroyed);
          };
          socket.on('drain', done);
          socket.on('close', done);
        }
      });
    },
  };
}

/** Sends one complete request with a Content-Length and returns the response. */
export async function post(
  port: number,
  userId: string,
  body: Buffer | string,
  headers: Record<string, string | number> = { 'content-type': MULTIPART },
): Promise<RawResponse> {
  const request = openRequest(port, userId, { 'content-length': Buffer.byteLength(body), ...headers });
  await request.write(body);
  try {
    return await request.response;
  } finally {
    request.socket.destroy();
  }
}

/** Writes `chunk` repeatedly (chunked transfer coding when `chunked`) until the response arrives or `total` is sent. */
export async function keepWriting(
  request: RawRequest,
  total: number,
  options: { chunked?: boolean; chunkSize?: number } = {},
): Promise<void> {
  const chunk = Buffer.alloc(options.chunkSize ?? 64 * 1024, 0x61);
  const framed = options.chunked
    ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
    : chunk;
  let sent = 0;
  while (sent < total && !request.answered) {
    if (!(await request.write(framed))) return;
    sent += chunk.length;
  }
}

/**
 * Writes all of `body` at about `bytesPerSecond`, as a client on a slow link does. Resolves true once everything is
 * written, false as soon as the connection breaks (the server cut it: the client's write fails with EPIPE or
 * ECONNRESET, and a client that sends its whole body before reading, as Python's urllib and requests do, never
 * sees the answer).
 */
export async function writePaced(request: RawRequest, body: Buffer, bytesPerSecond: number): Promise<boolean> {
  const chunkSize = 32 * 1024;
  const started = performance.now();
  for (let at = 0; at < body.length; at += chunkSize) {
    if (!(await request.write(body.subarray(at, at + chunkSize)))) return false;
    const due = started + ((at + chunkSize) / bytesPerSecond) * 1000 - performance.now();
    if (due > 0) await delay(due);
  }
  return !request.socket.destroyed && request.errors.length === 0;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
