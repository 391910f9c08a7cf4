/** @type {import('next').NextConfig} */
const config = {
  // Loaded by Node at run time rather than bundled: it carries sharp (native) and reads its own files.
  serverExternalPackages: ['profile-picture'],
};

export default config;
