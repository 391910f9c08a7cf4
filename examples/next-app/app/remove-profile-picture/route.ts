// POST: removes the signed-in user's picture → JSON, or 303 back to /profile for a form post.
import { route } from '../../lib/profile-pictures';

export const runtime = 'nodejs';
export const POST = route;
