/**
 * The example's engine settings (`examples/shared/engines.js`): unset, SQLite and disk; `DATABASE_URL` and `S3_*`
 * checked at start with messages that name the variable. Running on PostgreSQL and S3: example-postgres.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { adminUsersFromEnv } from '../../examples/shared/admin.js';
import { enginesFromEnv } from '../../examples/shared/engines.js';
import { changeLimitFromEnv, variantsFromEnv } from '../../examples/shared/site.js';
import { startExample } from './example-server.js';

describe('example engine settings', () => {
  it('uses SQLite and disk when nothing is set', () => {
    expect(enginesFromEnv({})).toEqual({ databaseUrl: undefined, s3: undefined });
  });

  it('reads PostgreSQL and an S3-compatible bucket', () => {
    const env = {
      DATABASE_URL: 'postgres://app:secret@db.internal:5432/portrait',
      S3_BUCKET: 'pp-demo',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_SIGNED_URLS: '1',
    };
    expect(enginesFromEnv(env)).toEqual({
      databaseUrl: env.DATABASE_URL,
      s3: {
        bucket: 'pp-demo',
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1', // with an endpoint, unless S3_REGION says otherwise
        credentials: { accessKeyId: 'key', secretAccessKey: 'secret' },
        publicBaseUrl: undefined,
        signedUrls: true,
      },
    });
    // AWS itself: region and credentials from the SDK's default chain.
    expect(enginesFromEnv({ S3_BUCKET: 'b', S3_PUBLIC_BASE_URL: 'https://cdn.example.com/' }).s3).toEqual({
      bucket: 'b',
      endpoint: undefined,
      region: undefined,
      credentials: undefined,
      publicBaseUrl: 'https://cdn.example.com/',
      signedUrls: false,
    });
  });

  it.each([
    [{ DATABASE_URL: 'mysql://app:secret@db/portrait' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
    [
      { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_REGION: 'auto' },
      'S3_ENDPOINT, S3_REGION are set but S3_BUCKET is not: set S3_BUCKET to keep pictures in S3, or unset the S3_* ' +
        'variables to keep them on disk',
    ],
    [{ S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT must be an http:// or https:// URL, got "minio:9000"'],
    [{ S3_BUCKET: 'b', S3_SIGNED_URLS: 'yes' }, 'S3_SIGNED_URLS must be 1 (presigned URLs) or 0, got "yes"'],
    [
      { S3_BUCKET: 'b', S3_PUBLIC_BASE_URL: 'https://cdn.example.com/avatars' },
      'S3_PUBLIC_BASE_URL must end in "/" (the bucket\'s root), got "https://cdn.example.com/avatars"',
    ],
    [
      { S3_BUCKET: 'b', S3_SIGNED_URLS: '1', S3_PUBLIC_BASE_URL: 'https://cdn.example.com/' },
      'S3_SIGNED_URLS=1 and S3_PUBLIC_BASE_URL exclude each other: a private bucket behind presigned URLs, or a ' +
        'public prefix (CDN)',
    ],
    [
      { S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'key' },
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both, or neither to use the AWS SDK\'s default ' +
        'credentials (AWS_* variables, profile, instance role)',
    ],
  ])('refuses %o', (env, message) => {
    expect(() => enginesFromEnv(env)).toThrow(new Error(message));
  });

  it('never repeats a database password in its message', () => {
    expect(() => enginesFromEnv({ DATABASE_URL: 'mysql://app:hunter2@db/portrait' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('reads ADMIN_USERS: usernames in any letter case; unset or empty, the first account', () => {
    expect(adminUsersFromEnv(' Ada.Admin, bob_2 ,')).toEqual(['ada.admin', 'bob_2']);
    expect(adminUsersFromEnv(undefined)).toEqual([]);
    expect(adminUsersFromEnv(' ')).toEqual([]);
    expect(() => adminUsersFromEnv('ada, <b>')).toThrow(
      new Error('ADMIN_USERS must list usernames separated by commas, got "<b>"'),
    );
  });

  it('reads PROFILE_PICTURE_VARIANTS, keeping the sizes the pages show', () => {
    expect(variantsFromEnv(undefined)).toBeUndefined();
    expect(variantsFromEnv('sm:48, md:200,lg:400,xl:1024')).toEqual({ sm: 48, md: 200, lg: 400, xl: 1024 });
    expect(() => variantsFromEnv('sm=48')).toThrow(
      new Error('PROFILE_PICTURE_VARIANTS must read like "sm:64,md:256,lg:512", got "sm=48"'),
    );
    expect(() => variantsFromEnv('sm:48,xl:1024')).toThrow(
      new Error('PROFILE_PICTURE_VARIANTS must keep the sizes the pages show (sm, md, lg); "sm:48,xl:1024" lacks md, lg'),
    );
  });

  it('reads PROFILE_PICTURE_CHANGES as new pictures per minutes; unset or empty, no limit', () => {
    expect(changeLimitFromEnv(undefined)).toBeUndefined();
    expect(changeLimitFromEnv('')).toBeUndefined();
    expect(changeLimitFromEnv(' 3 / 60 ')).toEqual({ max: 3, perMs: 60 * 60_000 });
    for (const wrong of ['3', '0/60', '3/0', '3/60m', '-1/60', '3.5/60']) {
      expect(() => changeLimitFromEnv(wrong)).toThrow(
        new Error(`PROFILE_PICTURE_CHANGES must read like "3/60" (at most 3 new pictures per 60 minutes), got "${wrong}"`),
      );
    }
  });

  it('prints the problem and exits with code 1 instead of starting', async () => {
    await expect(startExample('express-app', { S3_SIGNED_URLS: '1' })).rejects.toThrow(
      /exited with code 1 before listening:\nPortrait \(Express\) cannot start: S3_SIGNED_URLS is set but S3_BUCKET is not/,
    );
  });

  it('refuses a PROFILE_PICTURE_HISTORY that is not 0–20 previous pictures', async () => {
    await expect(startExample('express-app', { PROFILE_PICTURE_HISTORY: '21' })).rejects.toThrow(
      /cannot start: PROFILE_PICTURE_HISTORY must be a number of previous pictures from 0 to 20, got "21"/,
    );
  });
});
