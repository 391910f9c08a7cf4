/**
 * A demo session: the user id in a cookie signed with HMAC-SHA256. Enough to show `getUser(request)`; a real app
 * uses its own sessions (Auth.js `auth()`, iron-session, a database session, …).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET = process.env.SESSION_SECRET ?? randomBytes(32).toString('hex');
export const SESSION_COOKIE = 'demo_user';

/** The signed cookie value for a user id. */
export function signUser(id: string): string {
  return `${encodeURIComponent(id)}.${mac(id)}`;
}

/** The signed-in user of a request, or null. */
export function sessionUser(request: Request): { id: string } | null {
  const cookie = request.headers.get('cookie') ?? '';
  const value = cookie.split(/;\s*/).find((pair) => pair.startsWith(`${SESSION_COOKIE}=`))?.slice(SESSION_COOKIE.length + 1);
  const dot = value?.lastIndexOf('.') ?? -1;
  if (!value || dot < 1) return null;
  const id = decodeOrNull(value.slice(0, dot));
  if (id === null) return null;
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(mac(id));
  return given.length === expected.length && timingSafeEqual(given, expected) ? { id } : null;
}

function mac(id: string): string {
  return createHmac('sha256', SECRET).update(id).digest('base64url');
}

/** A cookie anyone can send: escapes that do not decode mean no user, not an exception (a 500 on every request). */
function decodeOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
