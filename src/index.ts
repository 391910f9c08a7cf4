/**
 * profile-picture: upload, validate, process, store, serve, replace and remove profile pictures.
 * Public entry: re-exports only.
 */
export { createProfilePictures } from './pictures.js';
export type { ProfilePictures, UploadOptions, UrlOptions, SweepOptions, SweepProgress, SweepResult } from './pictures.js';
export type { PictureStats, ObjectTally, StatsOptions, StatsProgress } from './stats.js';
export type { PreviousPicture } from './history.js';
export type { RegenerateOptions, RegenerateResult, RegenerateProgress, RegenerateFailure } from './regenerate.js';
export { DEFAULTS, INPUT_FORMATS, OUTPUT_FORMATS, POSITIONS } from './options.js';
export type {
  ProfilePicturesOptions,
  ResolvedOptions,
  LimitsOptions,
  OutputOptions,
  MasterOptions,
  HistoryOptions,
  TimeoutsOptions,
  InputFormat,
  OutputFormat,
  Position,
} from './options.js';
export type { ChangeLimit } from './change-limit.js';
export type { OrphanEvent, OrphanReason } from './cleanup.js';
export type { EraseOptions, EraseReceipt, PictureExport, ExportedObject } from './privacy.js';
export type { ModerateHook, ModerationRequest, ModerationImage, ModerationVerdict } from './moderation.js';
export { ProfilePictureError, ERROR_CODES, isProfilePictureError, toErrorBody } from './errors.js';
export type { ErrorCode, ErrorBody, ErrorDetails, ErrorMessages } from './errors.js';
export { diskStorage } from './storage/disk.js';
export type { DiskStorageOptions } from './storage/disk.js';
export { memoryStorage } from './storage/memory.js';
export type { StorageAdapter, StoredObject, ObjectInfo, PutMeta, SignedUrl } from './storage/types.js';
export { memoryUserRepository } from './users/memory.js';
export type {
  UserRepository,
  PictureRecord,
  PictureVariant,
  PictureMaster,
  PictureRendition,
  PictureHistoryEntry,
  PictureLock,
} from './users/types.js';
export type { PicturePreview } from './preview.js';
export type { CropRect } from './render.js';
export type { UploadInput } from './read-input.js';
export type { UploadRequest, UploadRequestOptions } from './intake/upload-request.js';
export {
  shouldCloseConnection,
  BUSY_RETRY_AFTER_SECONDS,
  DRAIN_GRACE_MS,
  ENVELOPE_ALLOWANCE,
  CROP_FIELDS,
} from './intake/upload-request.js';
export type { PlaceholderUser } from './placeholder.js';
export type { ServeResult, ServeRequest } from './serve.js';
export { isSafeKey } from './keys.js';
export { UNKNOWN_USER_REASON, unknownUserError } from './unknown-user.js';
export { hasPicture } from './record-state.js';
export type { CurrentPicture } from './record-state.js';
export { LOCK_REASON_MAX_LENGTH } from './user-lock.js';
export { clientConfig } from './client-config.js';
export type { ClientConfig, ClientConfigOptions } from './client-config.js';
export { clientScriptPath } from './client-script.js';
