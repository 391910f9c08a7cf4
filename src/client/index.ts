/// <reference lib="dom" />
/**
 * `profile-picture/client`: the browser upload widget, a dependency-free ES module. Importing it defines
 * `<profile-picture-upload>` (unless that name is taken); `defineProfilePictureUpload()` registers it under
 * another tag name. Safe to import on the server, where it defines nothing.
 *
 * @example
 * ```html
 * <script type="module" src="/assets/profile-picture-upload.js"></script>
 * ```
 * @example
 * ```ts
 * import 'profile-picture/client';
 * document.querySelector('profile-picture-upload')
 *   .addEventListener('profile-picture:uploaded', (e) => { avatar.src = e.detail.picture.urls.lg; });
 * ```
 */
import { ProfilePictureUpload, type ProfilePictureUploadEventMap } from './element.js';

export { ProfilePictureUpload } from './element.js';
export type { UploadedPicture, UploadErrorDetail, UploadState, ProfilePictureUploadEventMap } from './element.js';
export { DEFAULT_MESSAGES, formatBytes, describeTypes } from './messages.js';
export type { UploadMessages, Message, MessageFacts } from './messages.js';
export { checkFile } from './check-file.js';
export type { FileCheck, ClientErrorCode } from './check-file.js';
export { sniffImageType, isAnimated } from './sniff.js';
export { thumbHashToDataURL } from './preview.js';
export { shrinkForUpload, shrinkable } from './shrink.js';
export type { CropRect, ShrinkOptions, ShrinkResult, KeptReason } from './shrink.js';
export type { ClientConfig } from './config.js';

/** The tag name the module registers by default. */
export const TAG_NAME = 'profile-picture-upload';

/**
 * Registers the widget as `tagName` (a no-op when that name is already defined, or outside a browser).
 * @default tagName 'profile-picture-upload'
 * @returns the registered constructor, or undefined outside a browser.
 */
export function defineProfilePictureUpload(tagName: string = TAG_NAME): CustomElementConstructor | undefined {
  if (typeof customElements === 'undefined') return undefined;
  const existing = customElements.get(tagName);
  if (existing) return existing;
  // A subclass per extra name: one constructor cannot be registered under two names.
  const constructor = tagName === TAG_NAME ? ProfilePictureUpload : class extends ProfilePictureUpload {};
  customElements.define(tagName, constructor);
  return constructor;
}

defineProfilePictureUpload();

declare global {
  interface HTMLElementTagNameMap {
    'profile-picture-upload': ProfilePictureUpload;
  }
  interface HTMLElementEventMap extends ProfilePictureUploadEventMap {}
}
