// @ts-check
/**
 * Starts an example app from its `server.js`: reads the environment, opens the engines, listens, prints where and on
 * what, and shuts down cleanly. Environment: PORT (3000; 0 picks a free port), HOST (127.0.0.1), DATA_DIR,
 * MEDIA_DIR, SESSION_SECRET, PROFILE_PICTURE_ANIMATED (1: keep animations), PROFILE_PICTURE_VARIANTS, ADMIN_USERS
 * (see site.js), and DATABASE_URL / S3_* to run on PostgreSQL and S3 (see engines.js).
 */
import { fileURLToPath } from 'node:url';
import { settingsFromEnv } from './site.js';

/**
 * @param {string} name shown in the start-up line, e.g. "Express"
 * @param {string} exampleDir the example's own directory (data/ and media/ default to it)
 * @param {(settings: import('./site.js').SiteOptions) => Promise<{ app: { listen: Function }, site: import('./site.js').Site }>} createApp
 */
export async function startExample(name, exampleDir, createApp) {
  let settings;
  let started;
  try {
    settings = settingsFromEnv(exampleDir);
    started = await createApp(settings);
  } catch (err) {
    // Settings and engines fail with a message that says what to fix; the stack would only bury it.
    console.error(`Portrait (${name}) cannot start: ${/** @type {Error} */ (err).message}`);
    process.exitCode = 1;
    return;
  }
  const { app, site } = started;

  /** @type {import('node:http').Server} */
  const server = app.listen(settings.port, settings.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : settings.port;
    const host = settings.host === '127.0.0.1' || settings.host === '::1' ? 'localhost' : settings.host;
    console.log(`Portrait (${name}) is running at http://${host}:${port}/\n  ${site.engines}`);
  });

  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.once(signal, () => {
      server.close();
      server.closeAllConnections();
      site.close().catch((err) => console.error(err));
    });
  }
}

/** The directory of a module, from its `import.meta.url`. @param {string} moduleUrl */
export const dirOf = (moduleUrl) => fileURLToPath(new URL('.', moduleUrl));
