// After `tsup`: puts back the `/// <reference lib="…" />` directives of entry sources into their bundled
// declarations. tsup bundles `.d.ts` files with rollup-plugin-dts, which keeps `reference types` and `reference path`
// directives but drops `reference lib` ones, so dist/client.d.ts lost the DOM lib its source declares and a consumer
// compiling without it (e.g. `"lib": ["es2022"]`) got "Cannot find name 'HTMLElement'" in our declarations.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Entry name (as in tsup.config.ts) → its source, for the entries whose source references a lib. */
const SOURCES = { client: 'src/client/index.ts' };

for (const [entry, source] of Object.entries(SOURCES)) {
  const references = readFileSync(path.join(root, source), 'utf8').match(/^\/\/\/ <reference lib="[^"]+" \/>$/gm) ?? [];
  for (const extension of ['.d.ts', '.d.cts']) {
    const file = path.join(root, 'dist', entry + extension);
    const declarations = readFileSync(file, 'utf8');
    const missing = references.filter((reference) => !declarations.includes(reference));
    if (missing.length > 0) writeFileSync(file, `${missing.join('\n')}\n${declarations}`);
  }
}
