/**
 * A loopback TCP proxy in front of an HTTP server that fails requests on demand, for tests of what a storage and
 * the service do when the backend breaks mid-request. It relays bytes untouched until told to fail a method:
 * - `cut`: forwards the request head (so the server sees a request start), then closes both connections, as a
 *   network failure or a crashed server would;
 * - `throttle`: answers `503 SlowDown` (S3's throttling reply) without forwarding anything.
 *
 * A request is recognised by its first bytes at the start of a chunk the client writes (`PUT /…`). Node's HTTP
 * client starts every request of a keep-alive connection with a fresh write, and the bodies the tests send (image
 * bytes) never start with a method name, so no parsing is needed.
 */
import net from 'node:net';

/** How requests with the chosen method fail. */
export type FaultMode = 'cut' | 'throttle';

/** A running proxy. */
export interface FaultyProxy {
  /** `http://127.0.0.1:<port>`, to use as the client's endpoint. */
  endpoint: string;
  /** From now on, requests with `method` (e.g. `PUT`) fail in `mode`. */
  fail(method: string, mode: FaultMode): void;
  /** Relay everything again. */
  pass(): void;
  /** How many requests were failed so far. */
  failures(): number;
  stop(): Promise<void>;
}

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

/** Starts a proxy on 127.0.0.1 relaying to `target` (an `http://host:port` URL). */
export async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  const { hostname, port } = new URL(target);
  let fault: { method: string; mode: FaultMode } | null = null;
  let failed = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (fault && chunk.toString('latin1', 0, fault.method.length + 1) === `${fault.method} `) {
        failed++;
        if (fault.mode === 'cut') {
          const headEnd = chunk.indexOf('\r\n\r\n');
          upstream.write(chunk.subarray(0, headEnd === -1 ? chunk.length : headEnd + 4), close);
        } else {
          upstream.unpipe(client);
          client.end(
            `HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(SLOW_DOWN)}\r\n` +
              `Connection: close\r\n\r\n${SLOW_DOWN}`,
          );
          upstream.destroy();
        }
        client.pause();
        return;
      }
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    fail(method, mode) {
      fault = { method, mode };
    },
    pass() {
      fault = null;
    },
    failures: () => failed,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
