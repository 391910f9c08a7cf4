// An s3rver instance in its own Node process, for the S3 tests (started by test/processes/s3rver.ts).
// It must run with `--openssl-legacy-provider`: s3rver encrypts list continuation tokens with a cipher OpenSSL 3
// only offers through the legacy provider, so without the flag any listing of more than 1,000 keys fails with
// ERR_OSSL_EVP_UNSUPPORTED. Configuration as JSON in PP_S3RVER_CONFIG: { directory: string, buckets: string[] }.
// Prints `listening <port>` once ready; stores everything under `directory`; when its stdin closes it removes that
// directory and exits.
import { rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

// s3rver's DELETE removes the directories it leaves empty, while a PUT of another key under the same prefix may be
// between its mkdir and its open: that PUT's write stream then fails with ENOENT, unhandled, and the whole server
// dies (seen with two app instances racing an upload and a remove of one user's picture). S3 has no directories,
// so to behave like S3 under concurrent PUT and DELETE, this store's DELETE only removes the object's own files.
FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  const files = ['object', 'object.md5', 'metadata.json'].map((type) => this.getResourcePath(bucket, key, type));
  await Promise.all(files.map((file) => unlink(file).catch((err) => { if (err.code !== 'ENOENT') throw err; })));
};

const config = JSON.parse(process.env.PP_S3RVER_CONFIG ?? '{}');
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: config.directory,
  configureBuckets: (config.buckets ?? []).map((name) => ({ name })),
});
const { port } = await server.run();
console.log(`listening ${port}`);
// The parent holds our stdin open: when it exits, even without stopping us (a crashed test worker), so do we, and
// our data goes with us.
process.stdin.resume().on('end', () => {
  rmSync(config.directory, { recursive: true, force: true });
  process.exit(0);
});
