// @ts-check
/**
 * Starts the Express example: `npm run example` (builds the library first), then open http://localhost:3000.
 * Environment: PORT (3000; 0 picks a free port), HOST (127.0.0.1), DATA_DIR, MEDIA_DIR, SESSION_SECRET.
 */
import { fileURLToPath } from 'node:url';
import { settingsFromEnv } from '../shared/site.js';
import { createApp } from './app.js';

const settings = settingsFromEnv(fileURLToPath(new URL('.', import.meta.url)));
const { app, site } = createApp(settings);

const server = app.listen(settings.port, settings.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const host = settings.host === '127.0.0.1' || settings.host === '::1' ? 'localhost' : settings.host;
  console.log(`Portrait (Express) is running at http://${host}:${port}/`);
  console.log(`  data: ${settings.dataDir}\n  media: ${settings.mediaDir}`);
});

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    site.db.close();
  });
}
