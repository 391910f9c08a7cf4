/**
 * The `moderate` hook: the app's own check of a rendered picture (a nudity classifier, a review queue, a blocklist of
 * hashes) after the library's validation and before the commit.
 *
 * It sees the rendered `md` variant — already re-encoded, metadata stripped, small enough to send to a remote API —
 * or, when `md` is not configured, the variant whose side is closest to 256 (the larger on a tie). A verdict of
 * `{ reject }` fails the upload with `REJECTED` (422); a hook that throws, answers anything else, or takes longer
 * than `timeouts.moderateMs` fails it with `MODERATION_FAILED` (502): a broken or unreachable moderation service must
 * not let pictures through unchecked, and is the server's fault, not the user's. Either way the upload's objects are
 * rolled back and the current picture stays.
 */
import type { ErrorFactory } from './errors.js';

/** The picture the `moderate` hook judges: one rendered variant. */
export interface ModerationImage {
  /** The encoded bytes, as they would be stored (a copy of them: changing it changes nothing stored). */
  bytes: Uint8Array;
  /** Their MIME type, e.g. `image/webp`. */
  contentType: string;
  width: number;
  height: number;
  /** Which variant this is (`'md'` unless not configured). */
  variant: string;
}

/** What the `moderate` hook receives. */
export interface ModerationRequest {
  userId: string;
  image: ModerationImage;
  /**
   * Aborts when `timeouts.moderateMs` has passed, or the upload was aborted or failed otherwise (a put): pass it on
   * (`fetch(url, { signal })`) so a slow moderation call stops when nobody waits for it any more.
   */
  signal: AbortSignal;
}

/** `'allow'`, or `{ reject: reason }` (the reason reaches the client in `details.reason` and the message). */
export type ModerationVerdict = 'allow' | { reject: string };

/**
 * The `moderate` option.
 * @example
 * ```ts
 * moderate: async ({ image, signal }) => ((await classify(image.bytes, { signal })).nsfw > 0.8 ? { reject: 'nudity' } : 'allow')
 * ```
 */
export type ModerateHook = (request: ModerationRequest) => ModerationVerdict | Promise<ModerationVerdict>;

/** The side the hook's variant is chosen around when there is no `md`. */
const PREFERRED_SIDE = 256;

/** `md` when configured, else the variant whose side is closest to 256 (the larger on a tie). */
export function moderationVariant(variants: Readonly<Record<string, number>>): string {
  if (Object.hasOwn(variants, 'md')) return 'md';
  let best: [string, number] | undefined;
  for (const [name, side] of Object.entries(variants)) {
    const distance = Math.abs(side - PREFERRED_SIDE);
    const bestDistance = best ? Math.abs(best[1] - PREFERRED_SIDE) : Infinity;
    if (!best || distance < bestDistance || (distance === bestDistance && side > best[1])) best = [name, side];
  }
  return best![0];
}

/**
 * Asks the hook about one upload. Resolves on `'allow'`.
 * @throws ProfilePictureError `REJECTED` (422, `details.reason`), `MODERATION_FAILED` (502; `details.timeoutMs` on a
 *   timeout, the hook's error as `cause`), `ABORTED` when `signal` fires first.
 */
export async function moderate(
  hook: ModerateHook,
  request: Omit<ModerationRequest, 'signal'>,
  { timeoutMs, signal, fail }: { timeoutMs: number; signal: AbortSignal | undefined; fail: ErrorFactory },
): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const cause = new Error(`moderate() did not settle within ${timeoutMs} ms`);
      controller.abort(cause);
      reject(fail('MODERATION_FAILED', { details: { timeoutMs }, cause }));
    }, timeoutMs);
    controller.signal.addEventListener('abort', () => {
      if (signal?.aborted) reject(fail('ABORTED', { cause: signal.reason }));
    });
  });
  let verdict: unknown;
  try {
    // A hook that throws synchronously has failed like one that rejects; a late rejection (after the timeout) is
    // handled here too rather than left unhandled.
    const asked = new Promise<unknown>((resolve) => resolve(hook({ ...request, signal: controller.signal }))).then(
      (value) => ({ value }),
      (cause: unknown) => Promise.reject(fail('MODERATION_FAILED', { cause })),
    );
    asked.catch(() => {});
    verdict = (await Promise.race([asked, gaveUp])).value;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (verdict === 'allow') return;
  const reason = (verdict as { reject?: unknown } | null)?.reject;
  if (typeof reason === 'string') throw fail('REJECTED', { details: { reason } });
  throw fail('MODERATION_FAILED', { cause: new TypeError(`moderate() answered ${describe(verdict)}, not 'allow' or { reject }`) });
}

// --- internal ---

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value;
  }
}
