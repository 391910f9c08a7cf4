/**
 * `profile-picture/web` runs on Node's runtime only: sharp is a native module, and the intake streams the body
 * through Node streams. A real edge runtime (Next.js `runtime = 'edge'`, Vercel Edge, Cloudflare Workers) fails
 * earlier, when linking the module's static `node:` imports, before this check can run; it says so where Node's
 * built-ins load but the runtime is not Node's (an `EdgeRuntime` global set, as in edge emulations, or no
 * `process.versions.node`), instead of an obscure error from deep inside sharp.
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
