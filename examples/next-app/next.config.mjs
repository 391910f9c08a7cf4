/** @type {import('next').NextConfig} */
const config = {
  // This folder is the app's root, not the repository around it (which has a lockfile of its own).
  turbopack: { root: import.meta.dirname },
};

export default config;
