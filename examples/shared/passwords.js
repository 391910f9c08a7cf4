// @ts-check
/**
 * Password hashing with Node's built-in scrypt: a random salt per password, the cost parameters stored with the
 * hash (so they can be raised later without breaking old hashes), and a constant-time comparison.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = /** @type {(password: string, salt: Buffer, keylen: number, options: import('node:crypto').ScryptOptions) => Promise<Buffer>} */ (
  promisify(scryptCallback)
);

/** N = 2^15, r = 8, p = 1: about 32 MiB and a few tens of milliseconds per hash. */
const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 64;

/**
 * @param {string} password
 * @returns {Promise<string>} `scrypt$N$r$p$salt$hash` (base64url)
 */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * @param {string} password
 * @param {string} stored a value from {@link hashPassword}
 * @returns {Promise<boolean>}
 */
export async function verifyPassword(password, stored) {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash of a random password: verified against when a username does not exist, so timing does not reveal that. */
export const DUMMY_HASH = await hashPassword(randomBytes(16).toString('hex'));

/**
 * @param {string} password
 * @param {Buffer} salt
 * @param {{ N: number, r: number, p: number }} cost
 */
function derive(password, salt, cost) {
  return scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...cost, maxmem: 128 * cost.N * cost.r * 2 });
}
