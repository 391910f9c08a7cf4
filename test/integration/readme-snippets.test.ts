/**
 * The README's TypeScript, compiled the way an app compiles it: every ```ts block is a module of its own in a
 * consumer project that installed the built package (`dist/`, through `exports`), checked with `strict` under
 * `moduleResolution: nodenext`, `bundler` and the old `node` (`node10`). So the README cannot drift from the types again.
 *
 * A snippet may assume the app's own objects that `PRELUDE` declares (`pictures`, an Express `app`, `storage`,
 * `users`, …); anything from a package, this one included, it imports itself. An HTML comment on the line before a
 * fence marks a block that is deliberately partial:
 * - `<!-- snippet: continues previous -->`: compiled as one module with the block before it (and what that
 *   continues), e.g. a second example on the app the first one set up;
 * - `<!-- snippet: skip (why) -->`: not compiled, reported as skipped with its reason. Use sparingly.
 * Fix a failing snippet in the README text, never by loosening these options.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumerProject,
  ensureBuilt,
  formatError,
  ROOT,
  type CheckError,
  type ConsumerProject,
  type TsconfigOptions,
} from '../helpers/consumer-project.js';

/** What a snippet may take as given: the app's own objects and helpers. Library functions are always imported. */
const PRELUDE = `import type { Express, Request } from 'express';
import type { Pool } from 'pg';
import type { PictureRecord, ProfilePictures, StorageAdapter, UserRepository } from 'profile-picture';

declare global {
  /** The app's service, from \`createProfilePictures({ … })\`. */
  const pictures: ProfilePictures;
  /** The app's Express application. */
  const app: Express;
  const storage: StorageAdapter;
  const users: UserRepository;
  /** A UserRepository over the app's own users table. */
  const myUserRepository: UserRepository;
  /** A picture record the app read earlier. */
  const record: PictureRecord;
  /** The app's node-postgres pool. */
  const pool: Pool;
  /** The app's data access. */
  const db: { findUser(id: string): Promise<{ id: string; username: string } | null> };
  /** The app's own authentication. */
  function getUser(req: Request): { id: string; username?: string } | null;
  /** The same from a web \`Request\` (its cookie), for the web-standard handler. */
  function sessionUser(request: globalThis.Request): Promise<{ id: string; username?: string } | null>;
  function verifyBearer(authorization: string | undefined): { id: string } | null;
  /** An app's own storage, its backend, and its test database (conformance suite examples). */
  function myStorage(): StorageAdapter;
  function myBackendHas(key: string): Promise<boolean>;
  function resetTestDatabase(userIds: readonly string[]): Promise<void>;
}
`;

const STRICT: TsconfigOptions = {
  strict: true,
  target: 'es2022',
  lib: ['es2022'],
  types: ['node'],
  // Every snippet is a module of its own, imports or not (as in an ES module app), never a global script.
  moduleDetection: 'force',
  noEmit: true,
};
const MODES: Record<string, TsconfigOptions> = {
  nodenext: { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { ...STRICT, module: 'esnext', moduleResolution: 'bundler' },
  // TypeScript's old default `node`, which ignores `exports` (subpaths resolve through `typesVersions`); with the
  // esModuleInterop that `tsc --init` sets, as the default imports of express, pg, … need it there.
  node10: { ...STRICT, module: 'es2022', moduleResolution: 'node10', esModuleInterop: true },
};

/** A README code block (or blocks joined by `continues previous`) as one module. */
interface Snippet {
  /** README line of the first fence. */
  line: number;
  code: string;
  /** README line of each line of `code`. */
  readmeLines: number[];
  /** Why it is not compiled, when marked `skip`. */
  skip?: string;
}

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const snippets = extractSnippets(README);

let project: ConsumerProject;

beforeAll(async () => {
  await ensureBuilt();
  project = await createConsumerProject();
}, 180_000);

afterAll(() => project?.dispose());

describe('README TypeScript snippets compile against dist/ (strict)', () => {
  it('finds the blocks, and only known markers', () => {
    expect(snippets.filter((snippet) => !snippet.skip).length).toBeGreaterThanOrEqual(15);
    expect(() => extractSnippets('<!-- snippet: skip -->\n```ts\nx\n```\n')).toThrow(/needs a reason/);
    expect(() => extractSnippets('<!-- snippet: contniues previous -->\n```ts\nx\n```\n')).toThrow(/unknown snippet marker/);
    expect(() => extractSnippets('<!-- snippet: continues previous -->\n```ts\nx\n```\n')).toThrow(/nothing to continue/);
  });

  it.each(Object.keys(MODES))('reports what a snippet gets wrong (%s), so a pass means something', async (mode) => {
    const errors = await check(
      extractSnippets("```ts\nimport express from 'express';\nexpress().use((req) => req.user);\n```\n")[0]!,
      MODES[mode]!,
    );
    expect(errors).toEqual([expect.stringMatching(/^README\.md:3 TS2339 Property 'user' does not exist/)]);
  });

  for (const snippet of snippets) {
    for (const mode of Object.keys(MODES)) {
      if (snippet.skip) {
        it.skip(`README.md:${snippet.line} (${mode}) — skipped: ${snippet.skip}`, () => {});
        continue;
      }
      it(`README.md:${snippet.line} (${mode})`, async () => {
        expect(await check(snippet, MODES[mode]!)).toEqual([]);
      });
    }
  }
});

/** Compiles `snippet` with the prelude; errors as `README.md:<line> TS<code> <message>`. */
async function check(snippet: Snippet, options: TsconfigOptions): Promise<string[]> {
  const file = `readme-${snippet.line}.ts`;
  const { errors } = await project.check({ 'prelude.d.ts': PRELUDE, [file]: snippet.code }, options);
  const at = (error: CheckError): CheckError =>
    path.basename(error.file) === file ? { ...error, file: 'README.md', line: snippet.readmeLines[error.line - 1] ?? 0 } : error;
  return errors.map((error) => formatError(at(error)));
}

/** The ```ts blocks of `markdown`, joined and marked as the comments before their fences say. */
function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```\s*(\S*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`README.md:${i + 1}: unclosed code block`);
    if (fence[1] === 'ts' || fence[1] === 'typescript') {
      const code = lines.slice(i + 1, end);
      const readmeLines = code.map((_, k) => i + 2 + k);
      const marker = markerBefore(lines, i);
      if (marker === 'continues previous') {
        const previous = out.at(-1);
        if (!previous || previous.skip) throw new Error(`README.md:${i + 1}: nothing to continue (no compiled block before)`);
        previous.code += `\n${code.join('\n')}`;
        previous.readmeLines.push(0, ...readmeLines);
      } else {
        const skip = marker === undefined ? undefined : /^skip\s*\((.+)\)$/.exec(marker)?.[1];
        if (marker !== undefined && skip === undefined) {
          throw new Error(/^skip\b/.test(marker) ? `README.md:${i}: "skip" needs a reason: skip (why)` : `README.md:${i}: unknown snippet marker "${marker}"`);
        }
        out.push({ line: i + 1, code: code.join('\n'), readmeLines, ...(skip ? { skip } : {}) });
      }
    }
    i = end;
  }
  return out;
}

/** The `<!-- snippet: … -->` marker on the last non-blank line before line `index`, if any. */
function markerBefore(lines: string[], index: number): string | undefined {
  let k = index - 1;
  while (k >= 0 && lines[k]!.trim() === '') k--;
  return /^<!--\s*snippet:\s*(.*?)\s*-->$/.exec(lines[k]?.trim() ?? '')?.[1];
}
