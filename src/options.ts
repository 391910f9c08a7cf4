/**
 * Options of `createProfilePictures()`: types, the one DEFAULTS literal, and `resolveOptions()`, which validates
 * once at construction and returns a new frozen object (the caller's object is never mutated).
 */
import { availableParallelism } from 'node:os';
import { resolveChangeLimit, type ChangeLimit } from './change-limit.js';
import type { OrphanEvent } from './cleanup.js';
import { ERROR_CODES, type ErrorMessages } from './errors.js';
import type { ModerateHook } from './moderation.js';
import type { StorageAdapter } from './storage/types.js';
import type { UserRepository } from './users/types.js';
import {
  integerInRange,
  invalidOption,
  isPlainObject,
  nonEmptyString,
  oneOf,
  positiveInteger,
  optionNames,
  rejectUnknownKeys,
} from './validate.js';

/** Input formats the library can accept, by detected content. SVG is never accepted: it is not a raster image. */
export const INPUT_FORMATS = ['jpeg', 'png', 'gif', 'bmp', 'webp', 'avif', 'tiff', 'heif'] as const;
/** A detected input format. */
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** Formats the variants can be encoded in. */
export const OUTPUT_FORMATS = ['webp', 'jpeg', 'png', 'avif'] as const;
/**
 * Where the square is taken from when no crop is given: the middle, or where sharp's `attention` (skin tones,
 * saturation, edges) or `entropy` (detail) strategy finds the most.
 */
export const POSITIONS = ['centre', 'attention', 'entropy'] as const;

/** A {@link POSITIONS} value. */
export type Position = (typeof POSITIONS)[number];

/** An output format. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Size and time limits applied to every upload. */
export interface LimitsOptions {
  /**
   * Largest accepted file in bytes. Larger input fails with `FILE_TOO_LARGE` (413); streams stop being read there.
   * @default 5 * 1024 * 1024 (5 MiB)
   */
  fileSize?: number;
  /**
   * Largest accepted image in pixels (width × height), checked from the header before decoding, so a
   * decompression bomb is refused without allocating its pixels. Fails with `IMAGE_TOO_LARGE` (422).
   * @default 64_000_000 (a 12 MP phone photo passes; a 20000×20000 bomb does not)
   */
  inputPixels?: number;
  /**
   * Shortest accepted side in pixels. Smaller images fail with `IMAGE_TOO_SMALL` (422).
   * @default 16
   */
  minSide?: number;
  /**
   * Milliseconds a multipart request body may take to arrive (`uploadRequest`). Slower bodies fail with
   * `TIMEOUT` (408).
   * @default 30_000
   */
  bodyTimeout?: number;
  /**
   * Most `uploadRequest()`s one user may have in flight at once (queued, arriving or processing). More fail with
   * `TOO_MANY_UPLOADS` (429), so one account trickling slow bodies cannot hold every body slot.
   * @default 2
   */
  uploadsPerUser?: number;
  /**
   * With `animated: true`, most pixels an animation may have across its frames: frames × width × height, each frame
   * counted at least as large as the largest variant (every frame is encoded at that size, so a long run of tiny
   * frames costs as much as large ones). Checked from the header (frame count and size) before any frame is decoded;
   * more fails with `IMAGE_TOO_LARGE` (422, `details: { frames, width, height, limit }`). A real 90-frame 640 × 421
   * GIF (24 M) took about 1.8 s of CPU (1.5 s on the clock) with the default variants (README, `bench/animated.mjs`): the default bounds one
   * upload to a few seconds. Ignored without `animated: true`: only the first frame is decoded then.
   * @default 25_000_000 (100 frames of 480 × 480 pass; a 783-frame 640 × 421 screencast does not)
   * @example limits: { animationPixels: 50_000_000 }
   * @throws TypeError or RangeError at construction unless a positive integer.
   */
  animationPixels?: number;
  /**
   * At most `max` picture changes (uploads and restores) per user per `perMs` milliseconds, counted from times kept
   * in the user's record, so it holds across any number of app instances with no cache. One more fails with `TOO_MANY_CHANGES`
   * (429, `details.retryAfter`: seconds until the oldest counted change leaves the window, sent as `Retry-After`),
   * before the body is read by `uploadRequest()`. `remove()` does not count. `false` or absent: no limit.
   * @default false
   * @example limits: { changes: { max: 5, perMs: 24 * 60 * 60 * 1000 } } // 5 a day
   * @throws TypeError or RangeError at construction unless `{ max, perMs }` of positive integers.
   */
  changes?: ChangeLimit | false;
}

/**
 * Milliseconds a single storage or repository call may take before the request fails with `STORAGE_FAILED` (502,
 * `details: { operation, timeoutMs }`). A backend call that never settles would otherwise hold the user's commit lock
 * and the upload's processing slot forever. For `list()` and `listPictures()` each step of the iteration is timed,
 * not the whole listing.
 */
export interface TimeoutsOptions {
  /**
   * Per storage call: `put`, `get`, `delete`, `list` (each step), `sweepTemporary` (in `sweep()`, which walks the whole
   * prefix at once: twice what the listing took, if longer). Ten seconds is far above a healthy
   * disk or S3 request for a picture of a few hundred KB (tens to hundreds of ms), yet short enough that a stalled
   * backend frees the slot long before clients and proxies give up (typically 30–60 s).
   * @default 10_000
   * @example { storageMs: 30_000 } // a slow NAS
   * @throws RangeError or TypeError at construction unless a positive integer (at most 2147483647).
   */
  storageMs?: number;
  /**
   * Per repository call: `getPicture`, `setPicture`, `listPictures` (each step). A single-row read or compare-and-set
   * takes milliseconds; five seconds leaves room for a lock wait or a failover without letting a dead database hold
   * requests. A `setPicture` that times out may still commit: its new objects are then kept (reported to
   * `onOrphan` as `'commit-unknown'`) and never deleted by the request. The timeout bounds the wait, not the
   * database: bound statements there too (PostgreSQL `statement_timeout`) and keep `sweep()`'s grace above it.
   * @default 5_000
   * @example { repositoryMs: 2_000 } // fail fast in front of a replicated database
   * @throws RangeError or TypeError at construction unless a positive integer (at most 2147483647).
   */
  repositoryMs?: number;
  /**
   * For the `moderate` hook to answer. Longer fails the upload with `MODERATION_FAILED` (502,
   * `details.timeoutMs`) and aborts the `signal` the hook received.
   * @default 10_000
   * @example { moderateMs: 3_000 } // fail fast when the moderation API is slow
   * @throws RangeError or TypeError at construction unless a positive integer (at most 2147483647).
   */
  moderateMs?: number;
}

/** How the variants are encoded. */
export interface OutputOptions {
  /** @default 'webp' */
  format?: OutputFormat;
  /**
   * Encoder quality 1–100 (ignored for PNG). AVIF's scale is not WebP's: at 50 an AVIF is about as faithful as a
   * WebP at 82 and 40 % smaller, while AVIF at 82 is four times the bytes.
   * @default 82, or 50 for `format: 'avif'`
   */
  quality?: number;
}

/** The master each upload stores unless `master` is `false` (see {@link ProfilePicturesOptions.master}). */
export interface MasterOptions {
  /**
   * Longest side of the master in pixels; larger uploads (or crops) are downscaled to it, smaller ones kept as they
   * are. Variants `regenerate()` renders later from the master are only as sharp as it is.
   * @default 2048
   */
  maxSide?: number;
}

/** Previous pictures kept in each user's record (see {@link ProfilePicturesOptions.history}). */
export interface HistoryOptions {
  /**
   * How many previous pictures to keep per user (0–20), newest first; an upload or a restore beyond it deletes the
   * oldest one's objects.
   * @default 0
   */
  keep?: number;
}

/** Options of `createProfilePictures()`. Only `storage` and `users` are required. */
export interface ProfilePicturesOptions {
  /** Where picture bytes live: `diskStorage({ root })`, `memoryStorage()` or your own {@link StorageAdapter}. */
  storage: StorageAdapter;
  /** Where each user's current picture record lives: `memoryUserRepository()` or your own {@link UserRepository}. */
  users: UserRepository;
  /** Size, pixel and time limits. */
  limits?: LimitsOptions;
  /**
   * Accepted input formats, detected from the bytes (never from the file name or declared type). `tiff`, `avif` and
   * `heif` are opt-in; SVG is never accepted.
   * @default ['jpeg', 'png', 'gif', 'bmp', 'webp']
   */
  accept?: readonly InputFormat[];
  /**
   * Square variants to render, by name → side in pixels. Names become part of storage keys and URLs.
   * @default { sm: 64, md: 256, lg: 512 }
   */
  variants?: Record<string, number>;
  /** Output encoding. @default { format: 'webp', quality: 82 } */
  output?: OutputOptions;
  /**
   * Where the square comes from when an upload gives no crop (a crop is always honoured as given): `'centre'`, or
   * sharp's `'attention'` / `'entropy'` strategies, which look for the most salient / detailed square. They look at
   * the image already shrunk to the largest variant (and, beyond 2:1, at its central 2:1 part), so they add no
   * full-resolution work; measured cost in the README.
   * @default 'centre'
   * @example { position: 'attention' } // faces and subjects off-centre stay in the avatar
   * @throws TypeError at construction for any other value.
   */
  position?: Position;
  /**
   * A clean master stored with each upload, so `regenerate()` can re-render pictures after `variants` or `output`
   * change at full quality: the upload oriented, cropped as asked, metadata stripped, sRGB, downscaled to at most
   * `maxSide` (2048 by default and with `true`) and re-encoded (JPEG quality 90, or WebP quality 90 when the picture has
   * transparency). On by default, so a picture can later be re-rendered at any size up to it. Its cost: its larger
   * decode takes a 12 MP upload about 1.9× the CPU of an upload without it (1.2× with `maxSide` 1024), on the response
   * path, and it adds about 1.4 MB of storage per 12 MP picture. `false` turns it off: `regenerate()` then works from a
   * record's widest variant and never upscales it. Animated uploads (`animated: true`) store none.
   * @default { maxSide: 2048 }
   * @example { master: false } // no master: cheapest uploads; or { master: { maxSide: 1024 } }: about 1.2× the CPU
   * @throws TypeError or RangeError at construction for anything but a boolean or `{ maxSide }` (16–8192).
   */
  master?: boolean | MasterOptions;
  /**
   * Keep animations: an animated GIF or WebP becomes animated WebP variants — every frame cropped and resized the same
   * way, frame delays and loop count kept — plus a still of each variant (its first frame) in `record.stills`, for
   * places that must not move (`url(record, name, { still: true })`, the avatar route's `?still`). Needs
   * `output.format: 'webp'`, the only output format that can animate here. Off, an animation's first frame is used.
   * An animated WebP with an EXIF orientation other than 1 also stays a still (sharp cannot rotate animations).
   * Bounded by `limits.animationPixels`.
   * @default false
   * @example { animated: true, limits: { animationPixels: 40_000_000 } }
   * @throws TypeError at construction unless a boolean, or when true with another `output.format`.
   */
  animated?: boolean;
  /**
   * Previous pictures to keep, with their objects, inside each user's record (newest first): an upload pushes the
   * picture it replaces, `pictures.restore(userId, version)` makes one current again, `pictures.history(userId)` lists
   * them. Beyond `keep` the oldest is dropped and its objects deleted after the commit. Each kept picture holds its
   * objects (all variants, and its master): storage grows by up to `keep` pictures per user.
   * @default { keep: 0 } (no history: a replaced picture's objects are deleted)
   * @example { history: { keep: 3 } }
   * @throws TypeError or RangeError at construction unless `{ keep }` with an integer 0–20.
   */
  history?: HistoryOptions;
  /**
   * First path segment of every storage key.
   * @default 'profile_pictures'
   */
  prefix?: string;
  /**
   * URL path under which storages without their own `url()` are served (the adapters' media route, which matches it
   * against the whole request URL: with the router mounted at `/account`, use `'/account/media/'`).
   * `url(record, variant)` returns `publicPath + key`.
   * @default '/media/'
   */
  publicPath?: string;
  /**
   * Most uploads decoded, rendered and stored at once by `uploadRequest` (the CPU-bound work). An upload takes a
   * processing slot only once its whole body has arrived, so slow senders never hold one.
   * @default 2 × available CPUs
   */
  concurrency?: number;
  /**
   * Most upload bodies being received or held in memory at once by `uploadRequest`. A body slot is taken before the
   * first body byte is read and kept until the upload ends (a body that arrived waits for a processing slot holding
   * it), so memory for bodies stays below `bodyConcurrency × limits.fileSize`. Larger than `concurrency`, so bodies
   * still trickling in leave room for complete ones; twice, not more, so 16 simultaneous 5 MB uploads stay within
   * the bench's 230 MiB on 2 cores (four times measured about 270 MiB).
   * @default 2 × concurrency
   */
  bodyConcurrency?: number;
  /**
   * Most requests waiting for a body slot, their bodies unread; beyond it `uploadRequest` fails fast with `BUSY`
   * (503). Uploads whose body has arrived and that wait for a processing slot are not counted here: each holds a
   * body slot, so `bodyConcurrency` bounds them.
   * @default 4 × concurrency
   */
  maxQueue?: number;
  /**
   * Multipart field that carries the file.
   * @default 'profile_picture'
   */
  fieldName?: string;
  /** Per-code message overrides (i18n), e.g. `{ FILE_TOO_LARGE: (d) => \`Max ${d.limit} bytes\` }`. */
  messages?: ErrorMessages;
  /**
   * Timeouts of storage and repository calls, each call on its own, and of the `moderate` hook.
   * @default { storageMs: 10_000, repositoryMs: 5_000, moderateMs: 10_000 }
   * @example timeouts: { storageMs: 20_000 }
   * @throws TypeError at construction when not an object.
   */
  timeouts?: TimeoutsOptions;
  /**
   * Called once for every object the service leaves in storage for `sweep()`: a clean-up delete that failed or timed
   * out, clean-ups beyond the backlog, the objects of an upload whose commit timed out, and so on (see
   * {@link OrphanEvent}). For logs and metrics: it is not awaited, and what it throws is ignored.
   * @default one `console.warn` line per key, saying `sweep()` will remove it
   * @example onOrphan: ({ key, reason, cause }) => logger.warn({ key, reason, err: cause }, 'profile picture left for sweep')
   * @throws TypeError at construction when not a function.
   */
  onOrphan?: (event: OrphanEvent) => void;
  /**
   * Your own check of each new picture, after validation and rendering, before the commit: receives the rendered
   * `md` variant (or, without `md`, the variant closest to 256 px) and answers `'allow'` or `{ reject: reason }`. A
   * rejection fails the upload with `REJECTED` (422, `details.reason`); a hook that throws, answers anything else or
   * exceeds `timeouts.moderateMs` fails it with `MODERATION_FAILED` (502). Either way nothing is stored and the
   * current picture stays. It runs outside the user's lock and, in `uploadRequest`, after the processing slot is
   * given back, so a slow hook does not hold up other uploads' CPU work.
   * @default undefined (no moderation)
   * @example moderate: async ({ image }) => ((await scan(image.bytes)).adult ? { reject: 'Nudity is not allowed.' } : 'allow')
   * @throws TypeError at construction when not a function.
   */
  moderate?: ModerateHook;
}

/** The validated, frozen options a service runs with. */
export interface ResolvedOptions {
  readonly storage: StorageAdapter;
  readonly users: UserRepository;
  readonly limits: Readonly<Required<Omit<LimitsOptions, 'changes'>>> & { readonly changes: Readonly<ChangeLimit> | null };
  readonly accept: readonly InputFormat[];
  readonly variants: Readonly<Record<string, number>>;
  readonly output: Readonly<Required<OutputOptions>>;
  readonly position: Position;
  /** `false`, or the master's settings. */
  readonly master: false | Readonly<Required<MasterOptions>>;
  readonly animated: boolean;
  /** `keep`: previous pictures kept per user (0: none). */
  readonly history: Readonly<Required<HistoryOptions>>;
  readonly prefix: string;
  readonly publicPath: string;
  readonly concurrency: number;
  readonly bodyConcurrency: number;
  readonly maxQueue: number;
  readonly fieldName: string;
  readonly messages: ErrorMessages;
  readonly timeouts: Readonly<Required<TimeoutsOptions>>;
  /** The app's hook, or undefined for the default warning. */
  readonly onOrphan: ((event: OrphanEvent) => void) | undefined;
  /** The app's moderation hook, or undefined. */
  readonly moderate: ModerateHook | undefined;
}

/** The defaults, in one place. */
export const DEFAULTS = Object.freeze({
  limits: Object.freeze({ fileSize: 5 * 1024 * 1024, inputPixels: 64_000_000, minSide: 16, bodyTimeout: 30_000, uploadsPerUser: 2, animationPixels: 25_000_000 }),
  accept: Object.freeze(['jpeg', 'png', 'gif', 'bmp', 'webp'] as InputFormat[]),
  variants: Object.freeze({ sm: 64, md: 256, lg: 512 }),
  output: Object.freeze({ format: 'webp' as OutputFormat, quality: 82, avifQuality: 50 }),
  position: 'centre' as Position,
  master: Object.freeze({ maxSide: 2048 }),
  animated: false,
  history: Object.freeze({ keep: 0 }),
  prefix: 'profile_pictures',
  publicPath: '/media/',
  fieldName: 'profile_picture',
  timeouts: Object.freeze({ storageMs: 10_000, repositoryMs: 5_000, moderateMs: 10_000 }),
});

const MAX_VARIANT_SIDE = 4096;
const VARIANT_NAME = /^[a-z0-9][a-z0-9_]{0,15}$/i;
const PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
/** setTimeout's largest delay; a longer one silently becomes 1 ms (Node's TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Validates `options` and resolves defaults into a new frozen object.
 * @throws TypeError or RangeError with a message naming the option, the expectation and the received value.
 */
export function resolveOptions(options: ProfilePicturesOptions): ResolvedOptions {
  if (!isPlainObject(options)) throw invalidOption('options', 'an object', options);
  rejectUnknownKeys('', options, OPTION_NAMES.top, [...nested('limits'), ...nested('output'), ...nested('timeouts'), ...nested('master'), ...nested('history')]);
  const storage = checkStorage(options.storage);
  const users = checkUsers(options.users);

  const limitsIn = optionalObject('limits', options.limits);
  rejectUnknownKeys('limits', limitsIn, OPTION_NAMES.limits, [...OPTION_NAMES.top, ...nested('output')]);
  const limits = Object.freeze({
    fileSize: positiveInteger('limits.fileSize', limitsIn.fileSize ?? DEFAULTS.limits.fileSize),
    inputPixels: positiveInteger('limits.inputPixels', limitsIn.inputPixels ?? DEFAULTS.limits.inputPixels),
    minSide: positiveInteger('limits.minSide', limitsIn.minSide ?? DEFAULTS.limits.minSide),
    bodyTimeout: timerDelay('limits.bodyTimeout', limitsIn.bodyTimeout ?? DEFAULTS.limits.bodyTimeout),
    uploadsPerUser: positiveInteger('limits.uploadsPerUser', limitsIn.uploadsPerUser ?? DEFAULTS.limits.uploadsPerUser),
    animationPixels: positiveInteger('limits.animationPixels', limitsIn.animationPixels ?? DEFAULTS.limits.animationPixels),
    changes: resolveChangeLimit(limitsIn.changes),
  });

  const acceptIn: unknown = options.accept ?? DEFAULTS.accept;
  if (!Array.isArray(acceptIn) || acceptIn.length === 0) {
    throw invalidOption('accept', 'a non-empty array of input formats', acceptIn);
  }
  const accept = Object.freeze([
    ...new Set(acceptIn.map((format, i) => oneOf(`accept[${i}]`, format, INPUT_FORMATS))),
  ]);

  const variantsIn = optionalObject('variants', options.variants, DEFAULTS.variants);
  const variantNames = Object.keys(variantsIn);
  if (variantNames.length === 0) throw invalidOption('variants', 'at least one variant', variantsIn);
  const variants: Record<string, number> = {};
  const lowerCaseNames = new Set<string>();
  for (const name of variantNames) {
    if (!VARIANT_NAME.test(name)) {
      throw invalidOption('variants', 'variant names of 1–16 letters, digits or _', name);
    }
    // Names end up in object keys; `sm` and `SM` would overwrite each other on case-insensitive file systems.
    if (lowerCaseNames.has(name.toLowerCase())) {
      throw invalidOption('variants', 'variant names that differ in more than letter case', name);
    }
    lowerCaseNames.add(name.toLowerCase());
    variants[name] = integerInRange(`variants.${name}`, variantsIn[name], 1, MAX_VARIANT_SIDE);
  }

  const outputIn = optionalObject('output', options.output);
  rejectUnknownKeys('output', outputIn, OPTION_NAMES.output, [...OPTION_NAMES.top, ...nested('limits')]);
  const format = oneOf('output.format', outputIn.format ?? DEFAULTS.output.format, OUTPUT_FORMATS);
  const defaultQuality = format === 'avif' ? DEFAULTS.output.avifQuality : DEFAULTS.output.quality;
  const output = Object.freeze({
    format,
    quality: integerInRange('output.quality', outputIn.quality ?? defaultQuality, 1, 100),
  });

  const position = oneOf('position', options.position ?? DEFAULTS.position, POSITIONS);
  const master = resolveMaster(options.master);
  const animated = options.animated ?? DEFAULTS.animated;
  if (typeof animated !== 'boolean') throw invalidOption('animated', 'a boolean', animated);
  // sharp writes animated WebP and GIF only; GIF (256 colours, 1-bit alpha, several times WebP's bytes) is no avatar
  // format, and one record keeps one content type, so animation is tied to WebP rather than silently mixed.
  if (animated && format !== 'webp') {
    throw new TypeError(`[profile-picture] \`animated: true\` needs \`output.format: 'webp'\` (the only output format that can animate) but received ${JSON.stringify(format)}`);
  }

  const history = resolveHistory(options.history);

  const prefix = nonEmptyString('prefix', options.prefix ?? DEFAULTS.prefix);
  if (!PREFIX.test(prefix)) throw invalidOption('prefix', 'slash-separated segments of [A-Za-z0-9_-]', prefix);

  const publicPath = nonEmptyString('publicPath', options.publicPath ?? DEFAULTS.publicPath);
  if (!publicPath.endsWith('/')) throw invalidOption('publicPath', 'a path or URL ending in "/"', publicPath);

  const concurrency = positiveInteger('concurrency', options.concurrency ?? 2 * availableParallelism());
  const bodyConcurrency = positiveInteger('bodyConcurrency', options.bodyConcurrency ?? 2 * concurrency);
  const maxQueue = options.maxQueue ?? 4 * concurrency;
  if (typeof maxQueue !== 'number' || !Number.isInteger(maxQueue) || maxQueue < 0) {
    throw invalidOption('maxQueue', 'a non-negative integer', maxQueue, { range: true });
  }
  const fieldName = nonEmptyString('fieldName', options.fieldName ?? DEFAULTS.fieldName);
  const messages = checkMessages(optionalObject('messages', options.messages));
  const timeoutsIn = optionalObject('timeouts', options.timeouts);
  rejectUnknownKeys('timeouts', timeoutsIn, OPTION_NAMES.timeouts, [...OPTION_NAMES.top, ...nested('limits')]);
  const timeouts = Object.freeze({
    storageMs: timerDelay('timeouts.storageMs', timeoutsIn.storageMs ?? DEFAULTS.timeouts.storageMs),
    repositoryMs: timerDelay('timeouts.repositoryMs', timeoutsIn.repositoryMs ?? DEFAULTS.timeouts.repositoryMs),
    moderateMs: timerDelay('timeouts.moderateMs', timeoutsIn.moderateMs ?? DEFAULTS.timeouts.moderateMs),
  });
  const onOrphan = options.onOrphan;
  if (onOrphan !== undefined && typeof onOrphan !== 'function') throw invalidOption('onOrphan', 'a function', onOrphan);
  const moderate = options.moderate;
  if (moderate !== undefined && typeof moderate !== 'function') throw invalidOption('moderate', 'a function', moderate);

  return Object.freeze({
    storage,
    users,
    limits,
    accept,
    variants: Object.freeze(variants),
    output,
    position,
    master,
    animated,
    history,
    prefix,
    publicPath,
    concurrency,
    bodyConcurrency,
    maxQueue,
    fieldName,
    messages,
    timeouts,
    onOrphan,
    moderate,
  });
}

/** The top-level option names of `createProfilePictures()`: the routers name them when one is passed to them. */
export function serviceOptionNames(): readonly string[] {
  return OPTION_NAMES.top;
}

// --- internal ---

/** Every option name per level; the compiler checks each list against its interface, so none can go missing. */
const OPTION_NAMES = {
  top: optionNames<ProfilePicturesOptions>({
    storage: 1,
    users: 1,
    limits: 1,
    accept: 1,
    variants: 1,
    output: 1,
    position: 1,
    master: 1,
    animated: 1,
    history: 1,
    prefix: 1,
    publicPath: 1,
    concurrency: 1,
    bodyConcurrency: 1,
    maxQueue: 1,
    fieldName: 1,
    messages: 1,
    timeouts: 1,
    onOrphan: 1,
    moderate: 1,
  }),
  limits: optionNames<LimitsOptions>({
    fileSize: 1,
    inputPixels: 1,
    minSide: 1,
    bodyTimeout: 1,
    uploadsPerUser: 1,
    animationPixels: 1,
    changes: 1,
  }),
  output: optionNames<OutputOptions>({ format: 1, quality: 1 }),
  timeouts: optionNames<TimeoutsOptions>({ storageMs: 1, repositoryMs: 1, moderateMs: 1 }),
  master: optionNames<MasterOptions>({ maxSide: 1 }),
  history: optionNames<HistoryOptions>({ keep: 1 }),
};

/** `['limits.fileSize', …]`: the dotted names of a nested level, for suggestions from other levels. */
function nested(level: 'limits' | 'output' | 'timeouts' | 'master' | 'history'): string[] {
  return OPTION_NAMES[level].map((name) => `${level}.${name}`);
}

/**
 * Smallest and largest `master.maxSide`: below 16 px no variant can come from it; 8192 bounds its memory. The default,
 * 2048 (`DEFAULTS.master`), keeps a 1024 px variant sharp after re-rendering.
 */
const MASTER_SIDE = { min: 16, max: 8192 } as const;

function resolveMaster(value: unknown): ResolvedOptions['master'] {
  // On by default (issue 11): a re-render after a size or format change then starts from a clean source, at about
  // 1.9× an upload's CPU (README, "Master"); `false` is the opt-out.
  if (value === false) return false;
  if (value !== undefined && value !== true && !isPlainObject(value)) throw invalidOption('master', 'a boolean or an object', value);
  const masterIn = value === undefined || value === true ? {} : value;
  rejectUnknownKeys('master', masterIn, OPTION_NAMES.master, [...OPTION_NAMES.top, ...nested('output')]);
  const maxSide = integerInRange('master.maxSide', masterIn.maxSide ?? DEFAULTS.master.maxSide, MASTER_SIDE.min, MASTER_SIDE.max);
  return Object.freeze({ maxSide });
}

/** Most previous pictures per user: each holds all its objects, and the whole history rides in one record. */
const MAX_HISTORY = 20;

function resolveHistory(value: unknown): ResolvedOptions['history'] {
  const historyIn = optionalObject('history', value);
  rejectUnknownKeys('history', historyIn, OPTION_NAMES.history, [...OPTION_NAMES.top, ...nested('limits')]);
  return Object.freeze({ keep: integerInRange('history.keep', historyIn.keep ?? DEFAULTS.history.keep, 0, MAX_HISTORY) });
}

function optionalObject(
  path: string,
  value: unknown,
  fallback: Record<string, unknown> = {},
): Record<string, unknown> {
  if (value === undefined) return fallback;
  if (!isPlainObject(value)) throw invalidOption(path, 'an object', value);
  return value;
}

function timerDelay(path: string, value: unknown): number {
  const delay = positiveInteger(path, value);
  if (delay > MAX_TIMER_MS) throw invalidOption(path, `a positive integer of at most ${MAX_TIMER_MS}`, delay, { range: true });
  return delay;
}

function missingMethods(value: Record<string, unknown>, methods: readonly string[]): string[] {
  return methods.filter((method) => typeof value[method] !== 'function');
}

/** Overrides must name a known code (a typo would silently never apply) and be a string or a function. */
function checkMessages(messages: Record<string, unknown>): ErrorMessages {
  for (const [code, message] of Object.entries(messages)) {
    if (!Object.hasOwn(ERROR_CODES, code)) throw invalidOption('messages', 'keys that are error codes', code);
    if (typeof message !== 'string' && typeof message !== 'function') {
      throw invalidOption(`messages.${code}`, 'a string or a function of the error details', message);
    }
  }
  return Object.freeze({ ...messages }) as ErrorMessages;
}

function checkStorage(storage: unknown): StorageAdapter {
  if (!isPlainObject(storage)) throw invalidOption('storage', 'a StorageAdapter such as diskStorage({ root })', storage);
  const missing = missingMethods(storage, ['put', 'get', 'delete', 'list']);
  if (missing.length > 0) {
    throw new TypeError(`[profile-picture] \`storage\` is missing required method(s): ${missing.join(', ')}`);
  }
  return storage as unknown as StorageAdapter;
}

function checkUsers(users: unknown): UserRepository {
  if (!isPlainObject(users)) throw invalidOption('users', 'a UserRepository such as memoryUserRepository()', users);
  const missing = missingMethods(users, ['getPicture', 'setPicture']);
  if (missing.length > 0) {
    throw new TypeError(`[profile-picture] \`users\` is missing required method(s): ${missing.join(', ')}`);
  }
  return users as unknown as UserRepository;
}
