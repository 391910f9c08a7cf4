// Builds the package (`npm run build`) unless dist/ is newer than every source it is built from, so
// `npm run example` starts in a second when nothing changed instead of rebuilding type declarations each time.
// Sources: src/, adapters/, package.json, tsup.config.ts and the tsconfig files. dist/.built records the build.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = path.join(root, 'dist', '.built');
const sources = ['src', 'adapters', 'package.json', 'tsup.config.ts', 'tsconfig.json', 'tsconfig.build.json'];

/** Newest modification time (ms) of `file`, or of any file below it; 0 when it does not exist. */
function newest(file) {
  let info;
  try {
    info = statSync(file);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  return readdirSync(file).reduce((latest, name) => Math.max(latest, newest(path.join(file, name))), info.mtimeMs);
}

const built = newest(stamp);
const changed = Math.max(...sources.map((source) => newest(path.join(root, source))));
if (built > 0 && built >= changed) {
  console.log('dist/ is up to date; skipping the build');
} else {
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
