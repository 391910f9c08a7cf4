/**
 * A throwaway app that depends on the built package, for type-checking code the way a consumer's compiler sees it:
 * a temp directory whose `node_modules/profile-picture` links to this repository (so `dist/` is reached through
 * `exports`, `types` or `typesVersions`, whichever the resolution mode reads) beside links to every other installed
 * package (express, koa, pg, @types/*, …).
 *
 * Checks run on TypeScript's compiler API, one program per check, so what one checked file declares globally
 * (`declare global`, `declare module 'express-session'`) never makes another compile. Parsed declaration files are
 * shared between the programs of one set of compiler options, which keeps a check to a fraction of a second.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Compiler options as a consumer writes them in tsconfig.json (`"module": "nodenext"`, …). */
export type TsconfigOptions = Record<string, unknown>;

/** One TypeScript error, located in the checked file (or wherever TypeScript put it). */
export interface CheckError {
  file: string;
  /** 1-based; 0 for errors without a location (options, globals). */
  line: number;
  code: number;
  message: string;
}

export interface ConsumerProject {
  /** The project directory. */
  readonly dir: string;
  /**
   * Writes `files` (relative path → source) into the project and type-checks them, as one program, under `options`
   * (tsconfig `compilerOptions` spelling). Returns the errors in these files, plus option and global errors, and in
   * the files of the program `alsoCheck` selects (e.g. the package's own declarations).
   */
  check(files: Record<string, string>, options: TsconfigOptions, alsoCheck?: (fileName: string) => boolean): Promise<CheckResult>;
  dispose(): Promise<void>;
}

export interface CheckResult {
  errors: CheckError[];
  program: ts.Program;
}

/** Creates the consumer project: `package.json` (an ES module app) and `node_modules` links. */
export async function createConsumerProject(): Promise<ConsumerProject> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pp-consumer-'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const modules = path.join(dir, 'node_modules');
  await mkdir(modules);
  for (const name of await readdir(path.join(ROOT, 'node_modules'))) {
    if (name.startsWith('.') || name === 'profile-picture') continue;
    await symlink(path.join(ROOT, 'node_modules', name), path.join(modules, name), 'dir');
  }
  await symlink(ROOT, path.join(modules, 'profile-picture'), 'dir');

  /**
   * Per set of options (a parsed and bound SourceFile is only valid for the options it was made for): parsed files,
   * and module resolutions.
   */
  const caches = new Map<string, { files: Map<string, ts.SourceFile>; resolutions: ts.ModuleResolutionCache }>();

  return {
    dir,
    async check(files, tsconfig, alsoCheck = () => false) {
      const written: string[] = [];
      for (const [name, source] of Object.entries(files)) {
        const file = path.join(dir, name);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, source);
        written.push(file);
      }
      const { options, errors: configErrors } = ts.convertCompilerOptionsFromJson(tsconfig, dir);
      if (configErrors.length > 0) throw new Error(configErrors.map((d) => flatten(d.messageText)).join('\n'));
      const key = JSON.stringify(tsconfig);
      const cache = caches.get(key) ?? {
        files: new Map<string, ts.SourceFile>(),
        resolutions: ts.createModuleResolutionCache(dir, (name) => name, options),
      };
      caches.set(key, cache);
      const host = ts.createCompilerHost(options);
      host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions, containingSourceFile) =>
        literals.map((literal) =>
          ts.resolveModuleName(literal.text, containingFile, compilerOptions, host, cache.resolutions, redirected,
            ts.getModeForUsageLocation(containingSourceFile, literal, compilerOptions)),
        );
      const getSourceFile = host.getSourceFile.bind(host);
      host.getSourceFile = (fileName, languageVersion, onError, fresh) => {
        // Installed packages (reached through the links, so named by their real paths in this repository) and
        // TypeScript's lib files are shared; the project's own files change between checks.
        if (fileName.startsWith(dir + path.sep)) return getSourceFile(fileName, languageVersion, onError, fresh);
        const format = typeof languageVersion === 'object' ? languageVersion.impliedNodeFormat : undefined;
        const cacheKey = `${fileName}\0${format}`;
        let file = cache.files.get(cacheKey);
        if (!file) {
          file = getSourceFile(fileName, languageVersion, onError, fresh);
          if (file) cache.files.set(cacheKey, file);
        }
        return file;
      };
      const program = ts.createProgram({ rootNames: written, options, host });
      const checked = [
        ...written.map((file) => program.getSourceFile(file)!),
        ...program.getSourceFiles().filter((file) => alsoCheck(file.fileName)),
      ];
      const diagnostics = [
        ...program.getOptionsDiagnostics(),
        ...program.getGlobalDiagnostics(),
        ...checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
      ];
      return { program, errors: diagnostics.map(toCheckError) };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Builds the package unless `dist/` has its core entry (`npm test` builds first; a lone run of a file may not). */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(path.join(ROOT, 'dist', 'index.js'))) return;
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });
}

/** `file:line TS1234 message`: how an error reads in a test's output. */
export function formatError(error: CheckError): string {
  return `${error.file}:${error.line} TS${error.code} ${error.message}`;
}

// --- internal ---

function toCheckError(diagnostic: ts.Diagnostic): CheckError {
  const file = diagnostic.file;
  const line = file && diagnostic.start !== undefined ? file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0;
  return { file: file?.fileName ?? '', line, code: diagnostic.code, message: flatten(diagnostic.messageText) };
}

function flatten(message: string | ts.DiagnosticMessageChain): string {
  return ts.flattenDiagnosticMessageText(message, '\n  ');
}
