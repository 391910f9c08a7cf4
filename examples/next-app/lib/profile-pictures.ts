/**
 * The app's one service and one handler, shared by every route file. Route files import `route` and re-export it
 * for their methods; the handler itself decides by path, so each file's location must match the handler's paths.
 */
import { createProfilePictures, diskStorage, memoryUserRepository } from 'profile-picture';
import { createRequestHandler } from 'profile-picture/web';
import { sessionUser } from './session';

export const pictures = createProfilePictures({
  storage: diskStorage({ root: process.env.MEDIA_DIR ?? './media' }),
  // Records in memory for the demo: use your database (a UserRepository, or profile-picture/postgres).
  users: memoryUserRepository(),
});

export const handle = createRequestHandler(pictures, {
  getUser: (request) => sessionUser(request),
  redirectTo: '/profile',
});

/** A route handler: the profile-picture answer, or 404 for a request the handler does not take. */
export async function route(request: Request): Promise<Response> {
  return (await handle(request)) ?? new Response('Not found', { status: 404 });
}
