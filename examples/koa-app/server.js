// @ts-check
/**
 * Starts the Koa example: `npm run example:koa` (builds the library first), then open http://localhost:3000.
 * Environment: PORT (3000; 0 picks a free port), HOST (127.0.0.1), DATA_DIR, MEDIA_DIR, SESSION_SECRET, ADMIN_USERS,
 * PROFILE_PICTURE_VARIANTS (see ../shared/site.js); DATABASE_URL and S3_* to run on PostgreSQL and S3 (see
 * ../shared/engines.js).
 */
import { dirOf, startExample } from '../shared/start.js';
import { createApp } from './app.js';

startExample('Koa', dirOf(import.meta.url), createApp);
