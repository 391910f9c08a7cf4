/**
 * A service whose storage reads fail as a full disk or an unreachable S3 would: a GET of its stored picture is a
 * server fault (502 `STORAGE_FAILED`) the routes answer themselves. For the tests of each adapter's default
 * `onServerError`.
 */
import sharp from 'sharp';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';

export async function serviceWithFailingReads() {
  const fault = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  const storage = memoryStorage();
  let failing = false;
  const get: typeof storage.get = (key) => (failing ? Promise.reject(fault) : storage.get(key));
  const pictures = createProfilePictures({ storage: { ...storage, get }, users: memoryUserRepository() });
  const jpeg = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer();
  const mediaPath = pictures.url(await pictures.upload('1', jpeg), 'md');
  failing = true;
  return { pictures, fault, mediaPath };
}
