// GET /profile: the demo page — sign in with a name, then upload, replace or remove your picture.
import { sessionUser } from '../../lib/session';

export const runtime = 'nodejs';

export function GET(request: Request): Response {
  const user = sessionUser(request);
  const outcome = new URL(request.url).searchParams;
  const status = outcome.get('profile_picture_error') ?? outcome.get('profile_picture') ?? '';
  const body = user
    ? `<p>Signed in as ${escapeHtml(user.id)}. ${escapeHtml(status)}</p>
       <img src="/avatar/${encodeURIComponent(user.id)}?variant=md" width="128" height="128" alt="">
       <form method="post" action="/upload-profile-picture" enctype="multipart/form-data">
         <input type="file" name="profile_picture" accept="image/*" required> <button>Upload</button>
       </form>
       <form method="post" action="/remove-profile-picture"><button>Remove</button></form>`
    : `<form method="post" action="/login"><input name="name" required> <button>Sign in</button></form>`;
  return new Response(`<!doctype html><meta charset="utf-8"><title>Profile</title>${body}`, {
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
