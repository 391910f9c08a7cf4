// POST /login (name=…): the demo's sign-in, with no password — it only shows how getUser reads a session.
import { SESSION_COOKIE, signUser } from '../../lib/session';

export const runtime = 'nodejs';

export async function POST(request: Request): Promise<Response> {
  if (Number(request.headers.get('content-length') ?? Infinity) > 1024) return new Response('Too large', { status: 413 });
  const name = new URLSearchParams(await request.text()).get('name')?.trim().slice(0, 64);
  if (!name) return new Response(null, { status: 303, headers: { location: '/profile' } });
  return new Response(null, {
    status: 303,
    headers: {
      location: '/profile',
      'set-cookie': `${SESSION_COOKIE}=${signUser(name)}; Path=/; HttpOnly; SameSite=Lax`,
    },
  });
}
