/**
 * The built package's types as consumers' compilers find them: a file importing every subpath, compiled strictly
 * (our declarations included, without the DOM lib) in every module resolution an app may use — `node10`
 * (TypeScript's old `node`, which ignores `exports` and finds subpaths through `typesVersions`), `node16`/`nodenext`
 * from an ES module and from a CommonJS file, and `bundler`. Each subpath must resolve to its declaration file in
 * `dist/`, and declare exactly the values the built module exports at run time.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumerProject,
  ensureBuilt,
  formatError,
  ROOT,
  type ConsumerProject,
  type TsconfigOptions,
} from '../helpers/consumer-project.js';

const DIST = path.join(ROOT, 'dist') + path.sep;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
/** `profile-picture`, `profile-picture/express`, … : every code subpath. */
const specifiers = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));

const STRICT: TsconfigOptions = { strict: true, target: 'es2022', lib: ['es2022'], types: ['node'], noEmit: true };

/** A consumer setup: its options, the file it compiles, and which declaration files it must be given. */
interface Mode {
  options: TsconfigOptions;
  file: string;
  /** The declaration file extension this setup resolves to. */
  types: '.d.ts' | '.d.cts';
}

const MODES: Record<string, Mode> = {
  'node10 (moduleResolution: node), CommonJS': {
    options: { ...STRICT, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    file: 'node10.ts',
    types: '.d.ts',
  },
  'node16, ES module': { options: { ...STRICT, module: 'node16', moduleResolution: 'node16' }, file: 'node16.mts', types: '.d.ts' },
  'nodenext, CommonJS file': { options: { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext' }, file: 'nodenext.cts', types: '.d.cts' },
  'bundler': { options: { ...STRICT, module: 'esnext', moduleResolution: 'bundler' }, file: 'bundler.ts', types: '.d.ts' },
};

let project: ConsumerProject;
/** Value export names per subpath, as the built ES modules export them. */
let runtime: Record<string, string[]>;

beforeAll(async () => {
  await ensureBuilt();
  project = await createConsumerProject();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--input-type=module',
      '--eval',
      `const out = {};
       for (const id of ${JSON.stringify(specifiers)}) out[id] = Object.keys(await import(id)).sort();
       console.log(JSON.stringify(out));`,
    ],
    { cwd: project.dir },
  );
  runtime = JSON.parse(stdout) as Record<string, string[]>;
}, 180_000);

afterAll(() => project?.dispose());

describe('consumer type resolution of every subpath (built dist/)', () => {
  it.each(Object.keys(MODES))('%s', async (name) => {
    const mode = MODES[name]!;
    const source = specifiers.map((id, i) => `import * as entry${i} from '${id}';\nexport { entry${i} };\n`).join('');
    const { errors, program } = await project.check({ [mode.file]: source }, mode.options, (file) => file.startsWith(DIST));
    expect(errors.map(formatError)).toEqual([]);

    const checker = program.getTypeChecker();
    const file = program.getSourceFile(path.join(project.dir, mode.file))!;
    const found: Record<string, { file: string; values: string[] }> = {};
    for (const statement of file.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const module = checker.getSymbolAtLocation(statement.moduleSpecifier)!;
      const values = checker
        .getExportsOfModule(module)
        .filter((symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol).flags & ts.SymbolFlags.Value)
        .map((symbol) => symbol.name)
        .sort();
      found[statement.moduleSpecifier.text] = { file: path.relative(ROOT, module.declarations![0]!.getSourceFile().fileName), values };
    }
    const entryName = (id: string) => (id === pkg.name ? 'index' : id.slice(pkg.name.length + 1));
    expect(found).toEqual(
      Object.fromEntries(specifiers.map((id) => [id, { file: `dist/${entryName(id)}${mode.types}`, values: runtime[id] }])),
    );
  });
});

/**
 * `examples/next-app` is not installed (no Next.js here): its TypeScript files are checked against the built package
 * with the example's own compiler options, plus a contract file that holds each route file to what Next.js requires
 * of a route handler module — the `runtime` segment option `'nodejs'` and method exports taking a `Request` and a
 * context and returning a `Response`.
 */
describe('the Next.js example (examples/next-app), type-checked without Next.js', () => {
  const EXAMPLE = path.join(ROOT, 'examples', 'next-app');
  const { compilerOptions } = JSON.parse(readFileSync(path.join(EXAMPLE, 'tsconfig.json'), 'utf8')) as { compilerOptions: TsconfigOptions };
  const { plugins: _plugins, incremental: _incremental, ...options } = compilerOptions;
  const sources = Object.fromEntries(
    readdirSync(EXAMPLE, { recursive: true, encoding: 'utf8' })
      // Not node_modules/ nor .next/ (Next.js's output, with types of its own), there once the example is built by hand.
      .filter((file) => file.endsWith('.ts') && !file.split(path.sep).some((part) => part === 'node_modules' || part === '.next'))
      .map((file) => [path.join('next-app', file), readFileSync(path.join(EXAMPLE, file), 'utf8')]),
  );
  const ROUTES = {
    upload: ['upload-profile-picture', ['POST']],
    remove: ['remove-profile-picture', ['POST']],
    media: ['media/[...key]', ['GET', 'HEAD']],
    avatar: ['avatar/[id]', ['GET', 'HEAD']],
    profile: ['profile', ['GET']],
    login: ['login', ['POST']],
  } as const;
  const contract =
    Object.entries(ROUTES)
      .map(([name, [folder]]) => `import * as ${name} from './app/${folder}/route';\n`)
      .join('') +
    `type RouteHandler = (request: Request, context: { params: Promise<Record<string, string | string[]>> }) => Response | Promise<Response>;
     export const runtimes: Array<'nodejs'> = [${Object.keys(ROUTES).map((name) => `${name}.runtime`).join(', ')}];
     export const handlers: RouteHandler[] = [${Object.entries(ROUTES)
       .flatMap(([name, [, methods]]) => methods.map((method) => `${name}.${method}`))
       .join(', ')}];\n`;

  it('has every route file the README lists', () => {
    for (const [folder] of Object.values(ROUTES)) expect(Object.keys(sources)).toContain(path.join('next-app', 'app', folder, 'route.ts'));
  });

  it('compiles its route files against the package, each on the Node.js runtime with its methods', async () => {
    const { errors } = await project.check({ ...sources, 'next-app/route-contract.ts': contract }, { ...options, types: ['node'] });
    expect(errors.map(formatError)).toEqual([]);
  });

  it('would catch a route file on the edge runtime or without its method', async () => {
    const upload = path.join('next-app', 'app', 'upload-profile-picture', 'route.ts');
    const broken = sources[upload]!.replace("runtime = 'nodejs'", "runtime = 'edge'").replace('export const POST', 'export const PUT');
    const { errors } = await project.check(
      { ...sources, [upload]: broken, 'next-app/route-contract.ts': contract },
      { ...options, types: ['node'] },
    );
    expect(errors.map((error) => `${path.basename(error.file)} TS${error.code}`).sort()).toEqual([
      'route-contract.ts TS2322',
      'route-contract.ts TS2339',
    ]);
  });
});

describe('consumer types of the Fastify plugin (built dist/)', () => {
  // The plugin's declarations import Fastify's types: app.register() must infer its options from them, in every mode.
  const source = (options: string) => `import Fastify, { type FastifyRequest } from 'fastify';
import { createProfilePictures, memoryStorage, memoryUserRepository } from 'profile-picture';
import { profilePicturePlugin } from 'profile-picture/fastify';
const app = Fastify();
const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
export const registered = app.register(profilePicturePlugin, ${options});
`;

  it.each(Object.keys(MODES))('%s: register() takes the router options, pictures and prefix; getUser gets the request', async (name) => {
    const mode = MODES[name]!;
    const file = mode.file.replace(/^[^.]+/, 'fastify-ok');
    const ok = await project.check(
      { [file]: source(`{ prefix: '/account', pictures, getUser: (request: FastifyRequest) => (request.headers['x-user'] ? { id: 1 } : null) }`) },
      mode.options,
    );
    expect(ok.errors.map(formatError)).toEqual([]);
    const typo = await project.check({ [mode.file.replace(/^[^.]+/, 'fastify-typo')]: source(`{ pictures, getUser: () => null, redirect: '/me/' }`) }, mode.options);
    expect(typo.errors.map((error) => error.message).join('\n')).toMatch(/'redirect' does not exist/);
  });
});
