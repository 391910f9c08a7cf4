import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express/index.ts',
    koa: 'adapters/koa/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  // Without splitting each CJS entry inlines its own copy of the core and `instanceof` breaks across entries.
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
});
