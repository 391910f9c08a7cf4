import { defineConfig, type Options } from 'tsup';

/** The `profile-picture` bin, alone in dist/cli.js (see the second config below): the clean step must spare it. */
const CLI_FILES = ['cli.js', 'cli.js.map'];

const library: Options = {
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express/index.ts',
    koa: 'adapters/koa/index.ts',
    // The web-standard handler (Request → Response) for Hono, Next.js route handlers and the like; Node runtime only.
    web: 'adapters/web/index.ts',
    // Fastify is imported for its types only: the plugin runs on the app's own Fastify and never loads it.
    fastify: 'adapters/fastify/index.ts',
    // S3 storage: its own entry, so only apps that import it load @aws-sdk/* (optional peers, kept external).
    s3: 'src/storage/s3.ts',
    // A UserRepository on the app's node-postgres pool; it never imports `pg` (an optional peer) itself.
    postgres: 'src/users/postgres.ts',
    // The browser widget. Built with the rest (one config, so no parallel builds racing on `clean`); it imports
    // nothing at runtime, so dist/client.js is a self-contained ES module a page can load directly.
    client: 'src/client/index.ts',
    // The conformance suites, for authors of storages and repositories. vitest, an optional peer, stays external:
    // the suites must register their tests with the app's own vitest.
    testing: 'src/testing/index.ts',
  },
  external: ['vitest'],
  // The widget's ThumbHash decoder is bundled into dist/client.js, which must import nothing (a page loads it as is);
  // the core's `import 'thumbhash'` (the encoder) stays an ordinary external dependency. Only this path is bundled.
  noExternal: [/^thumbhash\/thumbhash\.js$/],
  format: ['esm', 'cjs'],
  dts: true,
  // Without splitting each CJS entry inlines its own copy of the core and `instanceof` breaks across entries.
  splitting: true,
  sourcemap: true,
  // The two configs build at once: this clean must not delete what the bin's build may already have written.
  clean: CLI_FILES.map((file) => `!${file}`),
  target: 'node20',
  // CommonJS has no `import.meta`: there, a module's own directory is `__dirname` (src/client-script.ts), and
  // `import.meta.url`, read only where `import.meta.dirname` is missing (never here), becomes `undefined`, because
  // `import.meta` anywhere in a CommonJS file is a syntax error. Not tsup's `shims`: they make every ESM entry import
  // a shim chunk (node:path), and the browser widget must import nothing.
  esbuildOptions(options, { format }) {
    if (format === 'cjs') {
      options.define = { ...options.define, 'import.meta.dirname': '__dirname', 'import.meta.url': 'undefined' };
    }
  },
  tsconfig: 'tsconfig.build.json',
};

/**
 * The command-line tool: ESM only, no declarations (it is run, never imported), and none of the library inside: it
 * reaches the library only through the app's config module, so the service it drives is the app's own copy. esbuild
 * keeps the entry's `#!` line and tsup marks such a file executable.
 */
const cli: Options = {
  entry: { cli: 'src/cli/main.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: false,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
};

export default defineConfig([library, cli]);
