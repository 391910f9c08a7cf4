/**
 * Types of the public entry that consumers narrow with, compiled the way an app compiles them (strict, against the
 * built `dist/` through `exports`): a guard must narrow both ways — a false branch narrowed to `never` makes the
 * app's next line a compile error although the value is there at run time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerProject, ensureBuilt, formatError, type ConsumerProject } from '../helpers/consumer-project.js';

const OPTIONS = { strict: true, target: 'es2022', lib: ['es2022'], types: ['node'], noEmit: true, module: 'nodenext', moduleResolution: 'nodenext' };

let project: ConsumerProject;
beforeAll(async () => {
  await ensureBuilt();
  project = await createConsumerProject();
}, 180_000);
afterAll(() => project?.dispose());

describe('hasPicture(record) as a type guard', () => {
  it('narrows to a record with a picture when true, and keeps a tombstone readable when false', async () => {
    const source = `import { hasPicture, type CurrentPicture, type PictureRecord, type ProfilePictures } from 'profile-picture';
declare const pictures: ProfilePictures;
declare const record: PictureRecord | null;
if (hasPicture(record)) {
  const current: CurrentPicture = record;
  const version: string = record.version;
  const src: string = pictures.url(record, 'md');
  console.log(current, version, src);
} else {
  // A tombstone: no picture, but it may hold a lock and previous pictures.
  const reason: string | undefined = record?.lock?.reason;
  const previous: number = record?.history?.length ?? 0;
  const maybe: PictureRecord | null = record;
  console.log(reason, previous, maybe);
}
`;
    const { errors } = await project.check({ 'has-picture.mts': source }, OPTIONS);
    expect(errors.map(formatError)).toEqual([]);
  });

  it('still refuses a record that may be null outside the guard (the check above can fail)', async () => {
    const source = `import type { PictureRecord } from 'profile-picture';
declare const record: PictureRecord | null;
export const version: string = record.version;
`;
    const { errors } = await project.check({ 'no-guard.mts': source }, OPTIONS);
    expect(errors.map((error) => `TS${error.code}`)).toEqual(['TS18047']);
  });
});
