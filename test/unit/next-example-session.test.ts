/**
 * The Next.js example's demo session (`examples/next-app/lib/session.ts`): a cookie it cannot read means no user,
 * never an exception (which would make every request from that client fail with 500).
 */
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE, sessionUser, signUser } from '../../examples/next-app/lib/session.js';

const withCookie = (cookie: string) => new Request('http://app.test/', { headers: { cookie } });

describe('examples/next-app session', () => {
  it('reads the user of a signed cookie, and no user from a forged one', () => {
    expect(sessionUser(withCookie(`${SESSION_COOKIE}=${signUser('a b/7')}`))).toEqual({ id: 'a b/7' });
    expect(sessionUser(withCookie(`${SESSION_COOKIE}=8.${signUser('7').split('.')[1]}`))).toBeNull();
  });

  it('answers no user, not an exception, for a cookie whose escapes do not decode', () => {
    expect(sessionUser(withCookie(`${SESSION_COOKIE}=%E0%A4%A.c2lnbmF0dXJl`))).toBeNull();
  });
});
