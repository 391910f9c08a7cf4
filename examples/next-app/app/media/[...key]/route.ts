// GET/HEAD /media/<key>: the stored pictures (ETag, 304, immutable caching), for disk and memory storage.
import { route } from '../../../lib/profile-pictures';

export const runtime = 'nodejs';
export const GET = route;
export const HEAD = route;
