/**
 * Where the browser widget's file is, so an app can serve it: one path for ES module and CommonJS apps alike.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// This module's directory. Node gives `import.meta.dirname` (the CommonJS build reads `__dirname` there,
// tsup.config.ts); bundlers such as Next.js (Turbopack, webpack) leave it undefined but do give `import.meta.url`,
// the file:// URL of this file where it was installed, so loading a bundled copy does not throw.
const moduleDirectory: string = import.meta.dirname ?? path.dirname(fileURLToPath(import.meta.url));

/**
 * Absolute path of the upload widget (`profile-picture/client`) as an ES module for browsers: serve this file as
 * `text/javascript` and load it with `<script type="module">`. ES module and CommonJS apps get the same file, where
 * `require.resolve('profile-picture/client')` gives the CommonJS build, which a browser cannot run.
 *
 * @example
 * ```ts
 * import { clientScriptPath } from 'profile-picture'; // or: const { clientScriptPath } = require('profile-picture');
 * app.get('/assets/profile-picture-upload.js', (req, res) => res.type('text/javascript').sendFile(clientScriptPath));
 * ```
 */
// `../dist/` from this module's directory: dist/ itself once built (every entry and chunk sits in dist/), and the
// build's output from src/ when the sources run (tests).
export const clientScriptPath: string = path.join(moduleDirectory, '..', 'dist', 'client.js');
