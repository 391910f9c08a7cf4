/**
 * The example apps' session cookie behind a TLS-terminating proxy (`TRUST_PROXY`): `Secure` when the proxy says the
 * request came over HTTPS, and a client's own `X-Forwarded-Proto` believed only when the app was told to trust one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustProxyFromEnv } from '../../examples/shared/site.js';
import { startExample, type RunningExample } from './example-server.js';

/** Signs up a new account through the form and resolves the cookies the answer sets (Koa adds a signature cookie). */
async function signUp(app: RunningExample, username: string, headers: Record<string, string> = {}): Promise<string[]> {
  const response = await fetch(`${app.url}/signup/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ username, password: `${username}-password-1969` }),
    redirect: 'manual',
  });
  expect(response.status).toBe(303);
  const cookies = response.headers.getSetCookie();
  expect(cookies.some((line) => /^portrait\.(sid|sess)=/.test(line))).toBe(true);
  return cookies;
}

/** Each cookie's `Secure` attribute, in order. */
const secureFlags = (cookies: string[]) =>
  cookies.map((cookie) => cookie.split(/;\s*/).some((part) => part.toLowerCase() === 'secure'));
const all = (cookies: string[], flag: boolean) => cookies.map(() => flag);

describe.each(['express-app', 'koa-app'] as const)('%s behind a proxy', (name) => {
  let trusting: RunningExample;
  let direct: RunningExample;
  beforeAll(async () => {
    [trusting, direct] = await Promise.all([startExample(name, { TRUST_PROXY: '1' }), startExample(name)]);
  }, 30_000);
  afterAll(() => Promise.all([trusting?.stop(), direct?.stop()]));

  it('with TRUST_PROXY=1, marks the session cookie Secure when the proxy forwarded HTTPS', async () => {
    const cookies = await signUp(trusting, 'ada', { 'x-forwarded-proto': 'https' });
    expect(secureFlags(cookies)).toEqual(all(cookies, true));
  });

  it('with TRUST_PROXY=1, leaves it usable over plain HTTP when the proxy forwarded HTTP', async () => {
    const cookies = await signUp(trusting, 'grace', { 'x-forwarded-proto': 'http' });
    expect(secureFlags(cookies)).toEqual(all(cookies, false));
    const cookie = cookies.map((line) => line.split(';')[0]).join('; ');
    const profile = await fetch(`${trusting.url}/profile/`, { headers: { cookie }, redirect: 'manual' });
    expect(profile.status).toBe(200);
  });

  it('without it, ignores an X-Forwarded-Proto any client could send', async () => {
    const cookies = await signUp(direct, 'alan', { 'x-forwarded-proto': 'https' });
    expect(secureFlags(cookies)).toEqual(all(cookies, false));
  });
});

describe('TRUST_PROXY', () => {
  it('reads 1, 0 or nothing, and refuses anything else naming the variable', () => {
    expect([trustProxyFromEnv(undefined), trustProxyFromEnv(''), trustProxyFromEnv('0'), trustProxyFromEnv('1')]).toEqual([false, false, false, true]);
    expect(() => trustProxyFromEnv('yes')).toThrow(new Error('TRUST_PROXY must be 1 (behind one reverse proxy that terminates TLS) or 0, got "yes"'));
  });
});
