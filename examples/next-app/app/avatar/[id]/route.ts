// GET/HEAD /avatar/<userId>?variant=sm|md|lg: 302 to the current picture, or the placeholder SVG.
import { route } from '../../../lib/profile-pictures';

export const runtime = 'nodejs';
export const GET = route;
export const HEAD = route;
