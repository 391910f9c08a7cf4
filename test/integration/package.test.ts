/**
 * The built package as a consumer sees it: `dist/` loaded by plain Node (child processes, so vitest's own module
 * loader is not involved) through the package's self-reference, in a pure ESM process, a pure CommonJS process and
 * a process that loads both copies. `npm test` builds first; run alone, the test builds when `dist/` is missing.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConsumerProject } from '../helpers/consumer-project.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(ROOT, 'dist');

interface ExportTarget {
  types: string;
  default: string;
}
interface PackageJson {
  name: string;
  main: string;
  module: string;
  types: string;
  files: string[];
  exports: Record<string, string | { import: ExportTarget; require: ExportTarget }>;
  typesVersions: Record<string, Record<string, string[]>>;
  bin: Record<string, string>;
}

/** How esbuild (or tsc) emits the error class definition. */
const DEFINES_ERROR_CLASS = /\bProfilePictureError = class\b|\bclass ProfilePictureError\b/;

const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
/** Every code subpath of the package, as a consumer imports it: `profile-picture`, `profile-picture/express`, … */
const specifiers = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
/**
 * The subpaths `require()` loads: all but the conformance suites, which import vitest, and vitest refuses
 * `require()` ("Vitest cannot be imported in a CommonJS module using require()"); vitest runs test files as ESM.
 */
const ESM_ONLY = ['profile-picture/testing'];
const requirable = specifiers.filter((id) => !ESM_ONLY.includes(id));

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'index.js'))) await run('npm', ['run', 'build'], { cwd: ROOT });
}, 180_000);

/** Runs `source` with plain Node (and `flags`) in the package root and parses the JSON it prints last. */
async function node<T>(source: string, type: 'module' | 'commonjs', flags: string[] = []): Promise<T> {
  const { stdout } = await run(process.execPath, [...flags, '--input-type', type, '--eval', source], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/**
 * Source of `roundTrip(lib, sharp)`: a real upload through a build, then a served variant and a failing upload.
 * Shared by the ESM and CJS children (plain JavaScript, no imports of its own).
 */
const ROUND_TRIP = `
async function roundTrip(lib, sharp) {
  const pictures = lib.createProfilePictures({ storage: lib.memoryStorage(), users: lib.memoryUserRepository() });
  const jpeg = await sharp({ create: { width: 120, height: 80, channels: 3, background: '#c83232' } }).jpeg().toBuffer();
  const record = await pictures.upload('42', jpeg);
  const served = await pictures.serve(record.variants.md.key);
  const chunks = [];
  for await (const chunk of served.body) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const meta = await sharp(body).metadata();
  const error = await pictures.upload('42', Buffer.from('plain text, not an image')).catch((err) => err);
  return {
    record,
    served: { status: served.status, type: served.headers['Content-Type'], bytes: body.length, format: meta.format, width: meta.width },
    error,
    errorInfo: { code: error.code, status: error.status, isBranded: lib.isProfilePictureError(error), isInstance: error instanceof lib.ProfilePictureError },
    current: await pictures.get('42'),
  };
}
`;

interface RoundTrip {
  record: { contentType: string; variants: Record<string, { key: string; width: number; bytes: number }> };
  served: { status: number; type: string; bytes: number; format: string; width: number };
  errorInfo: { code: string; status: number; isBranded: boolean; isInstance: boolean };
}

function expectWorkingRoundTrip(result: RoundTrip): void {
  expect(Object.keys(result.record.variants)).toEqual(['sm', 'md', 'lg']);
  expect(result.record.variants.md!.key).toMatch(/^profile_pictures\/42\/[0-9a-f]{24}-md\.webp$/);
  expect(result.served).toEqual({
    status: 200,
    type: 'image/webp',
    bytes: result.record.variants.md!.bytes,
    format: 'webp',
    width: 256,
  });
  // Plain text is rejected by content, with the branded error of the same build.
  expect(result.errorInfo.status).toBeGreaterThanOrEqual(400);
  expect(result.errorInfo.status).toBeLessThan(500);
  expect(result.errorInfo).toMatchObject({ isBranded: true, isInstance: true });
}

describe('package (built dist/)', () => {
  it('declares every export target, and every built entry is exported', async () => {
    expect(pkg.files).toEqual(['dist']);
    for (const file of [pkg.main, pkg.module, pkg.types]) expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    const exported = new Set<string>();
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') {
        expect(existsSync(path.join(ROOT, target)), `${subpath} → ${target}`).toBe(true);
        continue;
      }
      for (const condition of [target.import, target.require]) {
        for (const file of [condition.types, condition.default]) {
          expect(existsSync(path.join(ROOT, file)), `${subpath} → ${file}`).toBe(true);
        }
      }
      expect(target.import.default).toMatch(/\.js$/);
      expect(target.require.default).toMatch(/\.cjs$/);
      expect(target.import.types).toMatch(/\.d\.ts$/);
      expect(target.require.types).toMatch(/\.d\.cts$/);
      exported.add(path.basename(target.import.default, '.js'));
    }
    const bins = Object.values(pkg.bin).map((file) => path.basename(file, '.js'));
    const entries = (await readdir(DIST))
      .filter((file) => file.endsWith('.js') && !file.startsWith('chunk-'))
      .map((file) => file.slice(0, -3));
    expect(entries.sort()).toEqual([...exported, ...bins].sort());
  });

  it('ships the profile-picture bin: executable, with a shebang, and sharing no code with the library entries', async () => {
    expect(pkg.bin).toEqual({ 'profile-picture': './dist/cli.js' });
    const { mode } = await stat(path.join(ROOT, pkg.bin['profile-picture']!));
    expect(mode & 0o111).toBe(0o111);
    const source = await readFile(path.join(ROOT, pkg.bin['profile-picture']!), 'utf8');
    expect(source.startsWith('#!/usr/bin/env node\n')).toBe(true);
    // It reaches the library only through the app's config module; the library never loads it.
    expect(source).not.toMatch(/from ["']\.\//);
    for (const file of await readdir(DIST)) {
      if (/\.(c?js)$/.test(file) && file !== 'cli.js') expect(await readFile(path.join(DIST, file), 'utf8'), file).not.toMatch(/cli\.js|parseArgs/);
    }
  });

  it('maps every subpath in typesVersions to its types, for moduleResolution "node" (which ignores exports)', () => {
    // Only subpaths: the root is `types`. A catch-all "*" pattern would also remap `types` itself (dist/dist/…).
    const expected = Object.fromEntries(
      Object.entries(pkg.exports).flatMap(([subpath, target]) =>
        typeof target === 'string' || subpath === '.' ? [] : [[subpath.slice(2), [target.import.types]]],
      ),
    );
    expect(pkg.typesVersions).toEqual({ '*': expected });
    expect(pkg.types).toBe((pkg.exports['.'] as { import: ExportTarget }).import.types);
  });

  it('loads every subpath with import and with require, with the same export names', async () => {
    const esm = await node<Record<string, string[]>>(
      `const out = {};
       for (const id of ${JSON.stringify(specifiers)}) out[id] = Object.keys(await import(id)).sort();
       console.log(JSON.stringify(out));`,
      'module',
    );
    const cjs = await node<Record<string, string[] | string>>(
      `const out = {};
       for (const id of ${JSON.stringify(specifiers)}) {
         try { out[id] = Object.keys(require(id)).filter((k) => k !== '__esModule').sort(); } catch (err) { out[id] = err.message; }
       }
       console.log(JSON.stringify(out));`,
      'commonjs',
    );
    expect(Object.keys(esm)).toEqual(specifiers);
    for (const id of ESM_ONLY) expect(cjs[id]).toMatch(/^Vitest cannot be imported in a CommonJS module using require\(\)/);
    expect(Object.fromEntries(requirable.map((id) => [id, cjs[id]]))).toEqual(Object.fromEntries(requirable.map((id) => [id, esm[id]])));
    expect(esm['profile-picture']).toMatchInlineSnapshot(`
      [
        "BUSY_RETRY_AFTER_SECONDS",
        "CROP_FIELDS",
        "DEFAULTS",
        "DRAIN_GRACE_MS",
        "ENVELOPE_ALLOWANCE",
        "ERROR_CODES",
        "INPUT_FORMATS",
        "LOCK_REASON_MAX_LENGTH",
        "OUTPUT_FORMATS",
        "POSITIONS",
        "ProfilePictureError",
        "UNKNOWN_USER_REASON",
        "clientConfig",
        "clientScriptPath",
        "createProfilePictures",
        "diskStorage",
        "hasPicture",
        "isProfilePictureError",
        "isSafeKey",
        "memoryStorage",
        "memoryUserRepository",
        "shouldCloseConnection",
        "toErrorBody",
        "unknownUserError",
      ]
    `);
    for (const adapter of ['profile-picture/express', 'profile-picture/koa']) {
      if (specifiers.includes(adapter)) expect(esm[adapter]).toContain('profilePictureRouter');
    }
    expect(esm['profile-picture/web']).toEqual(['createRequestHandler']);
    expect(esm['profile-picture/fastify']).toEqual(['profilePicturePlugin']);
    expect(esm['profile-picture/s3']).toEqual(['s3Storage']);
    expect(esm['profile-picture/postgres']).toEqual(['POSTGRES_DEFAULTS', 'postgresSchemaSql', 'postgresUserRepository']);
    expect(esm['profile-picture/testing']).toEqual([
      'LISTING_USER_IDS',
      'SUITE_USER_IDS',
      'UNSAFE_KEYS',
      'describeStorageAdapter',
      'describeUserRepository',
      'listKeys',
      'pattern',
      'readBody',
      'sampleRecord',
    ]);
  });

  for (const { peer, pattern, entry, blocked } of [
    { peer: 'the AWS SDK', pattern: '^@aws-sdk/', entry: 'profile-picture/s3', blocked: /blocked @aws-sdk\/client-s3/ },
    { peer: 'vitest', pattern: '^vitest($|/)', entry: 'profile-picture/testing', blocked: /blocked vitest/ },
  ]) {
    it(`never loads ${peer} unless ${entry} is imported`, async () => {
      // Resolution of the peer fails in this process, for ESM imports (a resolve hook) and for require(): every other
      // entry must still load, in both formats, while the one entry that uses it (the control) must not.
      const others = specifiers.filter((id) => id !== entry);
      const result = await node<{ loaded: string[]; entryImport: string; entryRequire: string }>(
        `import Module, { createRequire, register } from 'node:module';
         const PEER = ${JSON.stringify(pattern)};
         const block = (specifier) => { if (new RegExp(PEER).test(specifier)) throw new Error('blocked ' + specifier); };
         register('data:text/javascript,' + encodeURIComponent(
           'export async function resolve(specifier, context, next) {' +
           ' if (new RegExp(' + JSON.stringify(PEER) + ').test(specifier)) throw new Error("blocked " + specifier);' +
           ' return next(specifier, context); }'));
         const resolveFilename = Module._resolveFilename;
         Module._resolveFilename = function (request, ...rest) { block(request); return resolveFilename.call(this, request, ...rest); };
         const require = createRequire(import.meta.url);
         const loaded = [];
         for (const id of ${JSON.stringify(others)}) {
           await import(id);
           if (${JSON.stringify(requirable)}.includes(id)) require(id);
           loaded.push(id);
         }
         const failure = (run) => { try { const value = run(); return value?.then ? value.then(() => 'loaded', (err) => err.message) : 'loaded'; } catch (err) { return err.message; } };
         console.log(JSON.stringify({
           loaded,
           entryImport: await failure(() => import(${JSON.stringify(entry)})),
           entryRequire: await failure(() => require(${JSON.stringify(entry)})),
         }));`,
        'module',
      );
      expect(result.loaded).toEqual(others);
      expect(result.entryImport).toMatch(blocked);
      expect(result.entryRequire).toMatch(blocked);
    });
  }

  for (const { peer, even } of [
    { peer: 'pg', even: 'profile-picture/postgres' },
    { peer: 'fastify', even: 'profile-picture/fastify' },
  ]) {
    it(`never loads ${peer}, an optional peer: not from the core, the adapters or even ${even}`, async () => {
      // ESM: a resolve hook that refuses the peer, so any import of it fails the entry that made it.
      const refuse = `export async function resolve(specifier, context, next) {
        if (specifier === '${peer}' || specifier.startsWith('${peer}/')) throw new Error('${peer} imported by ' + context.parentURL);
        return next(specifier, context);
      }`;
      const esm = await node<{ entries: Record<string, string>; control: string }>(
        `import { register } from 'node:module';
         register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(refuse)}));
         const entries = {};
         for (const id of ${JSON.stringify(specifiers)}) entries[id] = await import(id).then(() => 'loaded', (e) => e.message);
         const control = await import('${peer}').then(() => 'loaded', (e) => e.message);
         console.log(JSON.stringify({ entries, control }));`,
        'module',
      );
      expect(esm.control).toMatch(new RegExp(`^${peer} imported by `));
      expect(esm.entries).toEqual(Object.fromEntries(specifiers.map((id) => [id, 'loaded'])));
      // CommonJS: no file of the peer's package in the module cache after requiring every entry.
      const cjs = await node<string[]>(
        `const path = require('node:path');
         const peerDir = path.dirname(require.resolve('${peer}/package.json')) + path.sep;
         for (const id of ${JSON.stringify(requirable)}) require(id);
         console.log(JSON.stringify(Object.keys(require.cache).filter((file) => file.startsWith(peerDir))));`,
        'commonjs',
      );
      expect(cjs).toEqual([]);
    });
  }

  it('refuses to load profile-picture/web in an edge runtime, with an Error saying it needs Node.js', async () => {
    // Next.js and Vercel mark their edge runtime with the global EdgeRuntime.
    const refusals = await node<string[]>(
      `globalThis.EdgeRuntime = 'edge-runtime';
       const refusals = [await import('profile-picture/web').then(() => 'loaded', (err) => err.constructor.name + ': ' + err.message)];
       const { createRequire } = await import('node:module');
       try { createRequire(import.meta.url)('profile-picture/web'); refusals.push('loaded'); } catch (err) { refusals.push(err.constructor.name + ': ' + err.message); }
       console.log(JSON.stringify(refusals));`,
      'module',
    );
    const message =
      "Error: [profile-picture] profile-picture/web needs the Node.js runtime (sharp is a native module) but was loaded in an edge runtime; in Next.js add `export const runtime = 'nodejs'` to the route file";
    expect(refusals).toEqual([message, message]);
  });

  it('gives the browser widget as an ES module file: one clientScriptPath from import and from require', async () => {
    const fromImport = await node<string>(
      `import { clientScriptPath } from 'profile-picture';
       console.log(JSON.stringify(clientScriptPath));`,
      'module',
    );
    const fromRequire = await node<{ path: string; resolved: string }>(
      `console.log(JSON.stringify({ path: require('profile-picture').clientScriptPath, resolved: require.resolve('profile-picture/client') }));`,
      'commonjs',
    );
    expect(fromImport).toBe(path.join(DIST, 'client.js'));
    expect(fromRequire.path).toBe(fromImport);
    // Why apps need it: resolving the entry from CommonJS gives the CommonJS build, which a browser cannot run.
    expect(fromRequire.resolved).toBe(path.join(DIST, 'client.cjs'));
    const source = await readFile(fromImport, 'utf8');
    expect(source).toContain('customElements.define');
    expect(source).toMatch(/^export \{/m);
    expect(source).not.toMatch(/\brequire\(|\bmodule\.exports\b|^\s*import\s/m);
  });

  it('loads the ESM build where import.meta has a url but no dirname, as in a Next.js bundle', async () => {
    // Turbopack and webpack give a bundled module an import.meta with `url` (the installed file's) and no `dirname`.
    // The child evaluates dist/ as vm modules whose import.meta is just that; Node loads the dependencies as usual.
    const loaded = await node<{ clientScriptPath: string; createProfilePictures: string }>(
      `import vm from 'node:vm';
       import { readFileSync } from 'node:fs';
       const modules = new Map();
       function fromDist(url) {
         const source = readFileSync(new URL(url), 'utf8');
         return new vm.SourceTextModule(source, { identifier: url, initializeImportMeta: (meta) => { meta.url = url; } });
       }
       async function fromNode(specifier) {
         const namespace = await import(specifier);
         const names = Object.keys(namespace);
         return new vm.SyntheticModule(names, function () { for (const name of names) this.setExport(name, namespace[name]); });
       }
       function link(specifier, referrer) {
         const url = specifier.startsWith('.') ? new URL(specifier, referrer.identifier).href : specifier;
         if (!modules.has(url)) modules.set(url, url === specifier ? fromNode(specifier) : fromDist(url));
         return modules.get(url);
       }
       const index = fromDist(${JSON.stringify(pathToFileURL(path.join(DIST, 'index.js')).href)});
       await index.link(link);
       await index.evaluate();
       const { clientScriptPath, createProfilePictures } = index.namespace;
       console.log(JSON.stringify({ clientScriptPath, createProfilePictures: typeof createProfilePictures }));`,
      'module',
      ['--experimental-vm-modules', '--no-warnings'],
    );
    expect(loaded).toEqual({ clientScriptPath: path.join(DIST, 'client.js'), createProfilePictures: 'function' });
  });

  it('uploads, serves and rejects through the ESM build in a pure ESM process', async () => {
    const result = await node<RoundTrip>(
      `import sharp from 'sharp';
       import * as lib from 'profile-picture';
       ${ROUND_TRIP}
       const { error, ...rest } = await roundTrip(lib, sharp);
       console.log(JSON.stringify(rest));`,
      'module',
    );
    expectWorkingRoundTrip(result);
  });

  it('uploads, serves and rejects through the CJS build in a pure CommonJS process', async () => {
    const result = await node<RoundTrip>(
      `const sharp = require('sharp');
       const lib = require('profile-picture');
       ${ROUND_TRIP}
       roundTrip(lib, sharp).then(({ error, ...rest }) => console.log(JSON.stringify(rest)));`,
      'commonjs',
    );
    expectWorkingRoundTrip(result);
  });

  it('recognises errors across the ESM and CJS copies by brand (instanceof cannot)', async () => {
    const result = await node<Record<string, boolean | string>>(
      `import { createRequire } from 'node:module';
       import sharp from 'sharp';
       import * as esm from 'profile-picture';
       const cjs = createRequire(import.meta.url)('profile-picture');
       ${ROUND_TRIP}
       const fromEsm = (await roundTrip(esm, sharp)).error;
       const fromCjs = (await roundTrip(cjs, sharp)).error;
       console.log(JSON.stringify({
         distinctCopies: esm.ProfilePictureError !== cjs.ProfilePictureError,
         esmSeesCjs: esm.isProfilePictureError(fromCjs),
         cjsSeesEsm: cjs.isProfilePictureError(fromEsm),
         cjsInstanceOfEsm: fromCjs instanceof esm.ProfilePictureError,
         sameCode: fromEsm.code === fromCjs.code,
         esmBody: JSON.stringify(cjs.toErrorBody(fromEsm)),
         plainError: esm.isProfilePictureError(new Error('x')) || cjs.isProfilePictureError({ code: 'CONFLICT' }),
       }));`,
      'module',
    );
    expect(result).toMatchObject({
      distinctCopies: true,
      esmSeesCjs: true,
      cjsSeesEsm: true,
      cjsInstanceOfEsm: false,
      sameCode: true,
      plainError: false,
    });
    expect(JSON.parse(result.esmBody as string).error.code).toMatch(/^[A-Z_]+$/);
  });

  it('defines the error class once per format, so instanceof holds across entries', async () => {
    // With tsup's `splitting: false` every CJS entry would inline its own copy of the core.
    for (const extension of ['.js', '.cjs']) {
      const files = (await readdir(DIST)).filter((file) => file.endsWith(extension));
      const defining: string[] = [];
      for (const file of files) {
        if (DEFINES_ERROR_CLASS.test(await readFile(path.join(DIST, file), 'utf8'))) defining.push(file);
      }
      expect(defining, `files defining ProfilePictureError (${extension})`).toHaveLength(1);
    }
    // And at run time: every entry reuses the module the core entry loaded (one class object per format).
    const result = await node<{ definers: number; loadedByCore: boolean }>(
      `const fs = require('node:fs');
       require('profile-picture');
       const distFiles = () => Object.keys(require.cache).filter((file) => file.includes('/dist/'));
       const before = new Set(distFiles());
       for (const id of ${JSON.stringify(requirable)}) require(id);
       const definers = distFiles().filter((file) => ${DEFINES_ERROR_CLASS}.test(fs.readFileSync(file, 'utf8')));
       console.log(JSON.stringify({ definers: definers.length, loadedByCore: definers.every((file) => before.has(file)) }));`,
      'commonjs',
    );
    expect(result).toEqual({ definers: 1, loadedByCore: true });
  });

  it('runs the published conformance suites under vitest in a consumer project, as an author does', async () => {
    // The app's own vitest runs a test file calling the suites from dist/testing.js with the built memory storage
    // and repository: vitest must stay external (a bundled copy could not register tests with the running vitest).
    const project = await createConsumerProject();
    try {
      await writeFile(
        path.join(project.dir, 'memory.test.js'),
        `import { memoryStorage, memoryUserRepository } from 'profile-picture';
         import { describeStorageAdapter, describeUserRepository } from 'profile-picture/testing';
         describeStorageAdapter('memory (published)', { create: () => memoryStorage() });
         describeUserRepository('memory (published)', { create: () => memoryUserRepository() });`,
      );
      // Without this process's VITEST* variables, so the child is a vitest run of its own, not a worker of this one.
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')));
      const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
      await run(process.execPath, [vitest, 'run', '--reporter=json', '--outputFile=report.json'], { cwd: project.dir, env });
      const report = JSON.parse(await readFile(path.join(project.dir, 'report.json'), 'utf8')) as {
        numFailedTests: number;
        numPassedTests: number;
        testResults: Array<{ assertionResults: Array<{ ancestorTitles: string[]; status: string }> }>;
      };
      const suites = new Set(report.testResults.flatMap((file) => file.assertionResults.map((test) => test.ancestorTitles[0])));
      expect([...suites].sort()).toEqual([
        'StorageAdapter conformance: memory (published)',
        'UserRepository conformance: memory (published)',
      ]);
      expect(report.numFailedTests).toBe(0);
      expect(report.numPassedTests).toBeGreaterThan(40);
    } finally {
      await project.dispose();
    }
  }, 120_000);

  it('passes publint --strict', async () => {
    const { stdout } = await run(path.join(ROOT, 'node_modules', '.bin', 'publint'), ['--strict'], { cwd: ROOT });
    expect(stdout).toMatch(/All good!/);
  }, 60_000);
});
