/**
 * Finds and loads the config module and takes the app's service from it. The module is the app's own code, loaded
 * with `import()`, so it may be ESM or CommonJS and build the service exactly as the app does (same storage, same
 * repository, same options).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProfilePictures } from '../index.js';
import { UsageError } from './command.js';

/** Looked for, in this order, in the working folder when `--config` is not given. */
export const DEFAULT_CONFIG_FILES = ['profile-picture.config.js', 'profile-picture.config.mjs', 'profile-picture.config.cjs'];

/**
 * The service the config module at `configPath` (relative to `cwd`; default: the first of
 * {@link DEFAULT_CONFIG_FILES} there) exports: its default export or its export named `pictures`, either the service
 * itself or a function returning it (or a promise of it).
 * @throws UsageError when there is no such file or it exports no service; what the module throws, as is.
 */
export async function loadService(configPath: string | undefined, cwd: string): Promise<ProfilePictures> {
  const file = configPath === undefined ? findDefault(cwd) : path.resolve(cwd, configPath);
  if (!existsSync(file)) throw new UsageError(`config module not found: ${file}`);
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  // CommonJS `module.exports = { pictures }` arrives as `default.pictures`.
  const defaultExport = module.default as Record<string, unknown> | undefined;
  let exported: unknown = module.pictures ?? (isService(defaultExport) ? defaultExport : defaultExport?.pictures ?? defaultExport);
  if (typeof exported === 'function') exported = await (exported as () => unknown)();
  if (!isService(exported)) {
    throw new UsageError(
      `${path.basename(file)} exports no profile-picture service: export it as default or as \`pictures\` (the object createProfilePictures() returns, or a function returning it)`,
    );
  }
  refuseProcessLocal(exported, path.basename(file));
  return exported;
}

// --- internal ---

function findDefault(cwd: string): string {
  const found = DEFAULT_CONFIG_FILES.map((name) => path.join(cwd, name)).find((file) => existsSync(file));
  if (!found) throw new UsageError(`no ${DEFAULT_CONFIG_FILES.join(', ')} in ${cwd}; pass --config <file>`);
  return found;
}

/**
 * The library's mark of `memoryStorage()` and `memoryUserRepository()` (`src/process-local.ts`; a registered symbol,
 * since this bin shares no module with the library).
 */
const PROCESS_LOCAL = Symbol.for('profile-picture.process-local');

/**
 * Refuses a service built on a storage or repository that lives in one process's memory: in this process it is
 * empty, so every command would see none of the app's data, and `sweep` would take every picture on a shared disk
 * for an orphan and delete it.
 */
function refuseProcessLocal(pictures: ProfilePictures, configName: string): void {
  const isLocal = (part: unknown) => (part as Record<symbol, unknown> | undefined)?.[PROCESS_LOCAL] === true;
  const [name, what] = isLocal(pictures.options?.users)
    ? ['memoryUserRepository()', 'records']
    : isLocal(pictures.options?.storage)
      ? ['memoryStorage()', 'objects']
      : [];
  if (!name) return;
  throw new UsageError(
    `${configName} builds the service on ${name}, whose ${what} live in one process's memory: this command runs in a process of its own and would see none of the app's (a sweep would take every stored picture for an orphan); build it on the app's own ${what === 'records' ? 'repository' : 'storage'}, as the app does`,
  );
}

function isService(value: unknown): value is ProfilePictures {
  const candidate = value as Partial<Record<keyof ProfilePictures, unknown>> | null | undefined;
  return typeof candidate?.upload === 'function' && typeof candidate.get === 'function' && typeof candidate.sweep === 'function';
}
