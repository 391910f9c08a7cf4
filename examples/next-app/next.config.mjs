/** @type {import('next').NextConfig} */
const config = {
  // Loaded by Node at run time, never bundled: it carries sharp (native) and finds its own files next to itself.
  serverExternalPackages: ['profile-picture'],
  // This folder is the app's root, not the repository around it (which has a lockfile of its own).
  turbopack: { root: import.meta.dirname },
};

export default config;
