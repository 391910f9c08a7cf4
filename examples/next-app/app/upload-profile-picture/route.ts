// POST: multipart upload (field `profile_picture`) → JSON, or 303 back to /profile for a form post.
import { route } from '../../lib/profile-pictures';

// sharp is a native module: never the edge runtime.
export const runtime = 'nodejs';
export const POST = route;
