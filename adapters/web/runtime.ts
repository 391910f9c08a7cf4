/**
 * `profile-picture/web` runs on Node's runtime only: sharp is a native module, and the intake streams the body
 * through Node streams. Edge runtimes (Next.js `runtime = 'edge'`, Vercel Edge, Cloudflare Workers) must fail with
 * a message that says so, not with an obscure error from deep inside sharp.
 */

/**
 * @throws Error naming the runtime problem when not running on Node.js (or a runtime that emulates it, as Bun and
 *   Deno do).
 */
export function assertNodeRuntime(): void {
  const edge = typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime === 'string';
  const node = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (edge || !node) {
    throw new Error(
      '[profile-picture] profile-picture/web needs the Node.js runtime (sharp is a native module) but was loaded in ' +
        `${edge ? 'an edge runtime' : 'a runtime without Node.js'}; in Next.js add \`export const runtime = 'nodejs'\` to the route file`,
    );
  }
}
