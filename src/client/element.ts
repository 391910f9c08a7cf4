/// <reference lib="dom" />
/**
 * `<profile-picture-upload>`: a drop zone with click-to-choose, preview before upload, instant checks against the
 * server's limits, a real progress bar and accessible status messages.
 *
 * Progressive enhancement: put it inside a plain `<form method="post" enctype="multipart/form-data">` holding a
 * file input and a submit button. Without JavaScript (or before this module loads) those children render and the
 * form posts normally; once defined, the element renders its own UI in a shadow root (which has no slot, so the
 * fallback children disappear) and uploads with XMLHttpRequest, asking the server for JSON.
 */
import type { ClientConfig } from './config.js';
import { checkFile, probeImage, type ClientErrorCode } from './check-file.js';
import { cropFields, type CropRect } from './crop.js';
import { createCropView, type CropParts, type CropView } from './crop-view.js';
import {
  DEFAULT_MESSAGES,
  describeTypes,
  formatBytes,
  formatMessage,
  type MessageFacts,
  type UploadMessages,
} from './messages.js';
import { sendFile } from './send.js';
import { shrinkable, shrinkForUpload } from './shrink.js';
import { adoptStyles, TEMPLATE } from './template.js';

/**
 * Seconds an upload may go without any sign of life (no bytes sent, no answer) before the widget gives up on it.
 * Above the library's own server-side waits (a queued body waits up to `limits.bodyTimeout`, 30 s, unread) and nginx's
 * `proxy_read_timeout` / `proxy_send_timeout` (60 s): a healthy server has answered or failed by then.
 */
const DEFAULT_STALL_SECONDS = 60;

/** The `picture` of a successful upload response: the stored record plus a URL per variant. */
export interface UploadedPicture {
  /** URL of every variant by name, e.g. `{ sm, md, lg }`. */
  urls: Record<string, string>;
  /** Only for an animated picture (server option `animated`): the URL of each variant's first frame, by name. */
  stillUrls?: Record<string, string>;
  /** Average colour (`#rrggbb`) and ThumbHash to show while the picture loads (see `thumbHashToDataURL`). */
  preview?: { color: string; thumbhash: string };
  /** Changes with every new picture. */
  version?: string;
  /** The rest of the stored record (`contentHash`, `variants`, `updatedAt`, …). */
  [field: string]: unknown;
}

/** `detail` of `profile-picture:error`. */
export interface UploadErrorDetail {
  /**
   * A server error code (`NOT_AN_IMAGE`, `UNAUTHENTICATED`, …), a client check's code, `NETWORK`, `ABORTED`, or
   * `STALLED` (nothing was sent or received for `stall-timeout` seconds).
   */
  code: string;
  /** The message shown to the user. */
  message: string;
  /** HTTP status, or null when the error was found before or without an HTTP answer. */
  status: number | null;
}

/** The widget's phases, reflected in its `state` attribute for styling and tests. */
export type UploadState = 'idle' | 'selected' | 'preparing' | 'uploading' | 'processing' | 'done' | 'error';

/** Events the element dispatches (they bubble and cross shadow roots). */
export interface ProfilePictureUploadEventMap {
  /** A file passed the client-side checks and is previewed. */
  'profile-picture:select': CustomEvent<{ file: File }>;
  /** Upload progress, in bytes. */
  'profile-picture:progress': CustomEvent<{ loaded: number; total: number }>;
  /** The server stored the picture. */
  'profile-picture:uploaded': CustomEvent<{ picture: UploadedPicture }>;
  /** A check, the network or the server refused the file. */
  'profile-picture:error': CustomEvent<UploadErrorDetail>;
}

// Importing this module on the server (SSR, tests) must not throw: there is no HTMLElement in Node.
const Base: typeof HTMLElement =
  typeof HTMLElement === 'undefined' ? (class {} as unknown as typeof HTMLElement) : HTMLElement;

/**
 * The upload widget. Configure it with the server's limits in a `config` attribute holding the JSON of the core's
 * `clientConfig(pictures.options)`; without it, the field name and accepted types are read from a fallback
 * `<input type="file">` inside it.
 *
 * Attributes: `config` (JSON), `action` (upload URL; default: the enclosing form's `action`, else
 * `/upload-profile-picture/`), `auto-upload` (upload as soon as a valid file is chosen, without the crop step),
 * `no-crop` (no crop step: the server picks the square), `shape` (`circle`, the default, or `square`: the crop
 * frame's and preview's shape), `disabled`, `client-max-side` (longest side uploaded, overriding the config's
 * `clientMaxSide`), `no-shrink` (always upload the file as chosen: no scaling down in the browser), `stall-timeout`
 * (seconds without upload progress or an answer after which the upload is stopped and can be retried; default 60).
 *
 * @example
 * ```html
 * <form method="post" action="/upload-profile-picture/" enctype="multipart/form-data">
 *   <profile-picture-upload config='{"maxFileSize":5242880,"accept":["image/jpeg","image/png"],"minSide":16,"fieldName":"profile_picture"}'>
 *     <input type="file" name="profile_picture" accept="image/jpeg,image/png" required>
 *     <button>Upload</button>
 *   </profile-picture-upload>
 * </form>
 * <script type="module" src="/assets/profile-picture-upload.js"></script>
 * ```
 */
export class ProfilePictureUpload extends Base {
  static readonly observedAttributes = ['config', 'disabled'];

  #ui!: Parts;
  #crop!: CropView;
  #touch: MediaQueryList | null = null;
  #file: File | null = null;
  #previewUrl: string | null = null;
  #controller: AbortController | null = null;
  #messages: UploadMessages = DEFAULT_MESSAGES;
  #form: HTMLFormElement | null = null;
  #dragDepth = 0;
  #selection = 0;
  #percent = 0;
  #size: { width: number; height: number } | null = null;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = TEMPLATE;
    adoptStyles(root);
    this.#ui = queryParts(root);
    this.#crop = createCropView(this.#ui.cropView, { text: (key, extra) => this.#text(key, this.#file, extra) });
    const { zone, input, upload, cancel } = this.#ui;
    zone.addEventListener('click', () => this.choose());
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (file) void this.select(file);
      input.value = ''; // choosing the same file again must fire `change` again
    });
    upload.addEventListener('click', () => void this.upload());
    // During an upload, Cancel stops it and keeps the file (retry or discard next); otherwise it discards the file.
    cancel.addEventListener('click', () => {
      if (this.#controller) return this.#controller.abort();
      // Discarding hides Cancel itself: a keyboard user would be left on <body>, so focus goes back to the zone.
      const hadFocus = this.matches(':focus-within');
      this.reset();
      if (hadFocus) this.#ui.zone.focus();
    });
    this.addEventListener('dragenter', this.#onDragEnter);
    this.addEventListener('dragover', this.#onDragOver);
    this.addEventListener('dragleave', this.#onDragLeave);
    this.addEventListener('drop', this.#onDrop);
    this.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.#controller) this.#controller.abort();
    });
  }

  connectedCallback(): void {
    this.#form = this.closest('form');
    this.#form?.addEventListener('submit', this.#onSubmit);
    // The fallback input is for JavaScript-off posts only: disabled, it is neither validated (`required`) nor sent.
    const fallback = this.querySelector<HTMLInputElement>('input[type=file]');
    if (fallback) fallback.disabled = true;
    if (!this.hasAttribute('state')) this.#setState('idle');
    // Touch screens get "Tap to choose a photo": there is nothing to drag from on a phone.
    this.#touch = typeof matchMedia === 'function' ? matchMedia('(pointer: coarse)') : null;
    this.#touch?.addEventListener('change', this.#onPointerChange);
    this.#render();
  }

  disconnectedCallback(): void {
    this.#form?.removeEventListener('submit', this.#onSubmit);
    this.#form = null;
    this.#touch?.removeEventListener('change', this.#onPointerChange);
  }

  attributeChangedCallback(): void {
    if (this.#ui) this.#render();
  }

  /** The server's limits: the `config` attribute, else what a fallback file input inside the element declares. */
  get config(): ClientConfig {
    const fallback = this.querySelector<HTMLInputElement>('input[type=file]');
    const base: ClientConfig = {
      maxFileSize: Number.POSITIVE_INFINITY,
      accept: (fallback?.accept ?? '').split(',').map((type) => type.trim()).filter(Boolean),
      minSide: 1,
      fieldName: fallback?.name || 'profile_picture',
    };
    const json = this.getAttribute('config');
    if (!json) return base;
    try {
      return { ...base, ...(JSON.parse(json) as Partial<ClientConfig>) };
    } catch {
      console.warn('<profile-picture-upload>: the `config` attribute is not valid JSON; using defaults.');
      return base;
    }
  }

  set config(value: ClientConfig) {
    this.setAttribute('config', JSON.stringify(value));
  }

  /** Where the file is POSTed. */
  get action(): string {
    const raw = this.getAttribute('action') ?? this.#form?.getAttribute('action') ?? '/upload-profile-picture/';
    return new URL(raw, this.ownerDocument.baseURI).href;
  }

  set action(value: string) {
    this.setAttribute('action', value);
  }

  /** The widget's texts; assign a partial object to translate or reword some of them. */
  get messages(): Readonly<UploadMessages> {
    return this.#messages;
  }

  set messages(value: Partial<UploadMessages>) {
    this.#messages = { ...DEFAULT_MESSAGES, ...value };
    this.#render();
  }

  /** The chosen file that passed the checks, waiting to be uploaded. */
  get file(): File | null {
    return this.#file;
  }

  /** The current phase (also reflected as the `state` attribute). */
  get state(): UploadState {
    return (this.getAttribute('state') as UploadState | null) ?? 'idle';
  }

  /** Opens the browser's file chooser. */
  choose(): void {
    if (this.hasAttribute('disabled') || this.#controller) return;
    this.#ui.input.click();
  }

  /**
   * Checks `file` and, when it passes, previews it (and uploads it with `auto-upload`).
   * @returns whether the file was accepted.
   */
  async select(file: File): Promise<boolean> {
    const selection = ++this.#selection;
    this.#controller?.abort();
    this.#clearFile();
    this.#show({ status: '', error: '' });
    const config = this.config;
    // Over the size limit is fine when the browser can shrink the file before sending it (checked below).
    const check = await checkFile(file, this.#maxSide() ? { ...config, maxFileSize: Number.POSITIVE_INFINITY } : config);
    if (selection !== this.#selection) return false; // a newer choice replaced this one
    if (!check.ok) return this.#reject(check.code, check.message, file);
    const url = URL.createObjectURL(file);
    this.#previewUrl = url;
    const size = await probeImage(this.#ui.image, url);
    if (selection !== this.#selection) return false;
    if (size && Math.min(size.width, size.height) < config.minSide) {
      this.#clearFile();
      return this.#reject('IMAGE_TOO_SMALL', 'tooSmall', file);
    }
    const fits = file.size <= config.maxFileSize || (size !== null && (await shrinkable(file)));
    if (selection !== this.#selection) return false;
    if (!fits) {
      this.#clearFile();
      return this.#reject('FILE_TOO_LARGE', 'tooLarge', file);
    }
    this.#file = file;
    this.#size = size;
    this.#ui.image.hidden = size === null;
    this.#ui.icon.hidden = size !== null;
    this.#ui.note.hidden = size !== null;
    const crop = size && !this.hasAttribute('no-crop') && !this.hasAttribute('auto-upload');
    if (crop) this.#crop.open(url, size.width, size.height, config.minSide);
    this.#setState('selected');
    const note = file.size > config.maxFileSize ? ` ${this.#text('willShrink', file)}` : '';
    this.#show({ status: this.#text('selected', file) + note });
    this.#emit('profile-picture:select', { file });
    if (this.hasAttribute('auto-upload')) void this.upload();
    else if (crop) this.#focusUploadBelowCrop();
    else this.#ui.upload.focus();
    return true;
  }

  /**
   * Uploads the chosen file (opens the chooser when there is none).
   * @returns the stored picture, or null when the upload failed or was cancelled (details in the error event), or
   *   the widget is `disabled` (nothing is sent; the chosen file stays).
   */
  async upload(): Promise<UploadedPicture | null> {
    if (this.hasAttribute('disabled')) return null;
    const file = this.#file;
    if (!file) {
      this.choose();
      return null;
    }
    if (this.#controller) return null;
    const controller = new AbortController();
    this.#controller = controller;
    // The Upload button disappears while busy: keep keyboard focus in the widget (on Cancel), not on <body>.
    const hadFocus = this.matches(':focus-within');
    this.#setProgress(0);
    this.#setState('preparing');
    this.#show({ status: this.#text('preparing', file), error: '' });
    if (hadFocus) this.#ui.cancel.focus();
    try {
      const upload = await this.#prepare(file, controller.signal, this.#cropRect() ?? undefined);
      if (!upload) {
        this.#clearFile();
        this.#fail('FILE_TOO_LARGE', this.#text('tooLarge', file), null);
        return null;
      }
      this.#setState('uploading');
      this.#show({ status: this.#text('started', file) });
      const { status, body } = await sendFile(this.action, this.config.fieldName, upload.file, {
        ...(upload.crop ? { fields: cropFields(upload.crop) } : {}),
        signal: controller.signal,
        stallTimeout: this.#stallSeconds() * 1000,
        onProgress: (loaded, total) => {
          this.#setProgress(total > 0 ? Math.round((loaded / total) * 100) : 0);
          this.#emit('profile-picture:progress', { loaded, total });
        },
        onSent: () => {
          this.#setState('processing');
          this.#show({ status: this.#text('processing', file) });
        },
      });
      const picture = status >= 200 && status < 300 ? pictureOf(body) : null;
      if (picture) {
        this.#clearFile();
        this.#setState('done');
        this.#show({ status: this.#text('uploaded', file) });
        this.#emit('profile-picture:uploaded', { picture });
        return picture;
      }
      // A proxy's own 413 page carries no code: retrying cannot help, so say what it means.
      const error =
        errorOf(body) ??
        (status === 413 ? { code: 'FILE_TOO_LARGE', message: this.#text('tooLargeForServer', upload.file) } : null);
      // A refused file will not pass on a retry; a server fault might, and so will the same file once a 429 says the
      // wait is over (TOO_MANY_CHANGES, TOO_MANY_UPLOADS), or on a better connection after a 408 (TIMEOUT: the body
      // came in too slowly): keep the file for one.
      if (status < 500 && status !== 429 && status !== 408) this.#clearFile();
      this.#fail(error?.code ?? `HTTP_${status}`, error?.message ?? this.#text('failed', file, { status }), status);
      return null;
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') {
        // Cancelling is not a failure: keep the chosen file (if reset() did not drop it) and say so quietly.
        this.#setState(this.#file ? 'selected' : 'idle');
        this.#show({ status: this.#text('aborted', file), error: '' });
        this.#emit('profile-picture:error', { code: 'ABORTED', message: this.#text('aborted', file), status: null });
      } else if (err instanceof DOMException && err.name === 'TimeoutError') {
        // Nothing moved for too long: the request is gone, the file stays for a retry.
        this.#fail('STALLED', this.#text('stalled', file), null);
      } else {
        this.#fail('NETWORK', this.#text('network', file), null);
      }
      return null;
    } finally {
      this.#controller = null;
      this.#render();
      const focusLost = this.matches(':focus-within') || document.activeElement === document.body;
      if (hadFocus && focusLost) (this.#file ? this.#ui.upload : this.#ui.zone).focus();
    }
  }

  /** Forgets the chosen file and any message; cancels a running upload. */
  reset(): void {
    this.#selection++;
    this.#controller?.abort();
    this.#clearFile();
    this.#setState('idle');
    this.#show({ status: '', error: '' });
  }

  // --- internal ---

  /**
   * The crop the user chose, in source pixels after EXIF orientation (the server's `crop_*` coordinates), or null
   * when there is none to send. A step that re-encodes the file before sending maps this rectangle to the new size.
   */
  #cropRect(): CropRect | null {
    return this.#crop.rect();
  }

  /**
   * Focuses Upload with the crop area in view above it. Plain focus() scrolls the button to mid-screen, which with
   * large text on a small screen pushed the crop square off the top: the square first, then the button.
   */
  #focusUploadBelowCrop(): void {
    const { upload, actions, cropView } = this.#ui;
    upload.focus({ preventScroll: true });
    cropView.stage.scrollIntoView({ block: 'nearest' });
    actions.scrollIntoView({ block: 'nearest' });
  }

  #onPointerChange = (): void => this.#render();

  /** Longest side uploaded: `client-max-side`, else the config's; null with `no-shrink` (never shrink). */
  #maxSide(): number | null {
    if (this.hasAttribute('no-shrink')) return null;
    return this.#positiveAttribute('client-max-side', 'integer') ?? this.config.clientMaxSide ?? 2048;
  }

  /** Seconds without progress or an answer before an upload is stopped: `stall-timeout`, else the default. */
  #stallSeconds(): number {
    return this.#positiveAttribute('stall-timeout', 'number') ?? DEFAULT_STALL_SECONDS;
  }

  /** The attribute `name` as a positive number (or integer); null when absent, or invalid (with a console warning). */
  #positiveAttribute(name: string, kind: 'integer' | 'number'): number | null {
    const attribute = this.getAttribute(name);
    if (attribute === null) return null;
    const value = attribute.trim() === '' ? NaN : Number(attribute);
    if ((kind === 'integer' ? Number.isInteger(value) : Number.isFinite(value)) && value > 0) return value;
    console.warn(`<profile-picture-upload>: ${name}="${attribute}" is not a positive ${kind}; ignored.`);
    return null;
  }

  /**
   * What to send: `file` itself or a smaller re-encoding of it, with `crop` (upright source pixels) mapped onto it;
   * null when the file is over the size limit and cannot shrink.
   */
  async #prepare(file: File, signal: AbortSignal, crop?: CropRect): Promise<{ file: File; crop?: CropRect } | null> {
    const { maxFileSize, accept } = this.config;
    const maxSide = this.#maxSide();
    if (maxSide === null) return { file, ...(crop && { crop }) };
    const size = this.#size ?? undefined;
    const options = { maxBytes: maxFileSize, maxSide, accept, signal, ...(size && { size }), ...(crop && { crop }) };
    const result = await shrinkForUpload(file, options);
    return result.blob.size > maxFileSize ? null : { file: result.blob, ...(result.crop && { crop: result.crop }) };
  }

  #onSubmit = (event: SubmitEvent): void => {
    // With JavaScript on, the enclosing form never posts itself: the widget uploads and reports in place.
    event.preventDefault();
    if (this.#file) void this.upload();
    else this.choose();
  };

  #onDragEnter = (event: DragEvent): void => {
    if (!carriesFiles(event) || this.hasAttribute('disabled')) return;
    event.preventDefault();
    this.#dragDepth++;
    if (!this.hasAttribute('dragging')) {
      this.toggleAttribute('dragging', true);
      this.#render();
    }
  };

  #onDragOver = (event: DragEvent): void => {
    if (!carriesFiles(event) || this.hasAttribute('disabled')) return;
    event.preventDefault(); // without it the browser refuses the drop (and would open the file instead)
    if (event.dataTransfer) event.dataTransfer.dropEffect = this.#controller ? 'none' : 'copy';
  };

  #onDragLeave = (): void => {
    // dragenter/dragleave fire for every child crossed; only the outermost leave ends the hover.
    this.#dragDepth = Math.max(0, this.#dragDepth - 1);
    if (this.#dragDepth === 0) this.#endDrag();
  };

  #onDrop = (event: DragEvent): void => {
    this.#dragDepth = 0;
    this.#endDrag();
    if (!carriesFiles(event) || this.hasAttribute('disabled')) return;
    event.preventDefault();
    if (this.#controller) return;
    const files = event.dataTransfer?.files;
    if (!files || files.length === 0) return;
    if (files.length > 1) {
      this.#fail('TOO_MANY_FILES', this.#text('oneFile'), null);
      return;
    }
    void this.select(files[0]!);
  };

  #endDrag(): void {
    this.removeAttribute('dragging');
    this.#render();
  }

  #reject(code: ClientErrorCode, message: keyof UploadMessages, file: File): false {
    this.#fail(code, this.#text(message, file), null);
    return false;
  }

  #fail(code: string, message: string, status: number | null): void {
    this.#setState(this.#file ? 'selected' : 'error');
    this.#show({ status: '', error: message });
    this.#emit('profile-picture:error', { code, message, status });
  }

  #clearFile(): void {
    this.#file = null;
    this.#size = null;
    if (this.#previewUrl) URL.revokeObjectURL(this.#previewUrl);
    this.#previewUrl = null;
    const { image, icon, note } = this.#ui;
    this.#crop.close();
    image.removeAttribute('src');
    image.hidden = true;
    icon.hidden = false;
    note.hidden = true;
  }

  #setState(state: UploadState): void {
    this.setAttribute('state', state);
    this.#render();
  }

  #setProgress(percent: number): void {
    this.#percent = percent;
    const { progress, progressLabel } = this.#ui;
    progress.value = percent;
    progress.setAttribute('aria-valuetext', `${percent}%`);
    progressLabel.textContent = this.#text('uploading', this.#file, { percent });
  }

  /** Updates everything derived from state, config and messages. */
  #render(): void {
    const { zone, input, prompt, action, hint, note, progress, progressBox, progressLabel, actions, upload, cancel } =
      this.#ui;
    const config = this.config;
    const state = this.state;
    const busy = state === 'preparing' || state === 'uploading' || state === 'processing';
    input.accept = config.accept.join(',');
    zone.disabled = busy || this.hasAttribute('disabled');
    const touch = this.#touch?.matches === true;
    prompt.textContent = this.#text(this.hasAttribute('dragging') ? 'dropHere' : touch ? 'touchPrompt' : 'prompt');
    action.textContent = touch ? '' : this.#text('promptAction');
    action.hidden = touch;
    zone.setAttribute('aria-label', touch ? this.#text('touchPrompt') : `${this.#text('prompt')}, ${this.#text('promptAction')}`);
    hint.textContent = this.#text('hint');
    this.#ui.cropHelp.textContent = this.#text(touch ? 'touchCropHelp' : 'cropHelp');
    this.#ui.cropView.box.inert = busy || this.hasAttribute('disabled');
    this.#crop.refresh();
    note.textContent = this.#text('noPreview');
    progressBox.hidden = !busy;
    // While busy the progress label shows the same words: keep the live region for screen readers only.
    this.#ui.status.classList.toggle('visually-hidden', busy);
    if (state === 'processing' || state === 'preparing') {
      progress.removeAttribute('value'); // indeterminate: the photo is being shrunk, or the server is working
      progressLabel.textContent = this.#text(state);
    } else if (busy && !progress.hasAttribute('value')) {
      progress.value = this.#percent;
    }
    // The bar's value says how far; a name with a percentage (`uploading`) would be set here once and then go stale.
    progress.setAttribute('aria-label', this.#text(state === 'processing' || state === 'preparing' ? state : 'started', this.#file));
    actions.hidden = !(busy || this.#file);
    upload.hidden = busy;
    upload.disabled = this.hasAttribute('disabled'); // Cancel stays: stopping or discarding is always allowed
    upload.textContent = this.#text('upload');
    cancel.textContent = this.#text('cancel');
    this.setAttribute('aria-busy', String(busy));
  }

  #show(texts: { status?: string; error?: string }): void {
    if (texts.status !== undefined) this.#ui.status.textContent = texts.status;
    if (texts.error !== undefined) this.#ui.error.textContent = texts.error;
  }

  #text(key: keyof UploadMessages, file?: File | null, extra: Partial<MessageFacts> = {}): string {
    const config = this.config;
    const facts: MessageFacts = {
      types: describeTypes(config.accept),
      limit: Number.isFinite(config.maxFileSize) ? formatBytes(config.maxFileSize) : '',
      size: file ? formatBytes(file.size) : '',
      minSide: config.minSide,
      percent: this.#percent,
      status: 0,
      name: file?.name ?? '',
      zoom: 100,
      side: 0,
      left: 0,
      top: 0,
      ...extra,
    };
    return formatMessage(this.#messages[key], facts);
  }

  #emit<K extends keyof ProfilePictureUploadEventMap>(
    type: K,
    detail: ProfilePictureUploadEventMap[K]['detail'],
  ): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

// --- helpers ---

interface Parts {
  zone: HTMLButtonElement;
  icon: HTMLElement;
  image: HTMLImageElement;
  prompt: HTMLElement;
  action: HTMLElement;
  hint: HTMLElement;
  note: HTMLElement;
  progressBox: HTMLElement;
  progress: HTMLProgressElement;
  progressLabel: HTMLElement;
  actions: HTMLElement;
  upload: HTMLButtonElement;
  cancel: HTMLButtonElement;
  status: HTMLElement;
  error: HTMLElement;
  input: HTMLInputElement;
  cropHelp: HTMLElement;
  cropView: CropParts;
}

function queryParts(root: ShadowRoot): Parts {
  const one = <T extends Element>(selector: string): T => root.querySelector(selector) as T;
  return {
    zone: one<HTMLButtonElement>('.zone'),
    icon: one<HTMLElement>('.icon'),
    image: one<HTMLImageElement>('.preview img'),
    prompt: one<HTMLElement>('.prompt'),
    action: one<HTMLElement>('.action'),
    hint: one<HTMLElement>('.hint'),
    note: one<HTMLElement>('.note'),
    progressBox: one<HTMLElement>('.progress'),
    progress: one<HTMLProgressElement>('progress'),
    progressLabel: one<HTMLElement>('.progress-label'),
    actions: one<HTMLElement>('.actions'),
    upload: one<HTMLButtonElement>('.upload'),
    cancel: one<HTMLButtonElement>('.cancel'),
    status: one<HTMLElement>('.status'),
    error: one<HTMLElement>('.error'),
    input: one<HTMLInputElement>('input[type=file]'),
    cropHelp: one<HTMLElement>('.crop-help'),
    cropView: {
      box: one<HTMLElement>('.crop'),
      stage: one<HTMLElement>('.stage'),
      image: one<HTMLImageElement>('.crop-image'),
      frame: one<HTMLElement>('.frame'),
      zoom: one<HTMLInputElement>('.zoom input'),
      live: one<HTMLElement>('.crop-live'),
      preview: one<HTMLElement>('.preview'),
      previewImage: one<HTMLImageElement>('.preview img'),
    },
  };
}

function carriesFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes('Files');
}

function pictureOf(body: unknown): UploadedPicture | null {
  const picture = (body as { picture?: { urls?: unknown } } | null)?.picture;
  return picture && typeof picture.urls === 'object' && picture.urls !== null ? (picture as UploadedPicture) : null;
}

function errorOf(body: unknown): { code: string; message: string } | null {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return error && typeof error.code === 'string' && typeof error.message === 'string'
    ? { code: error.code, message: error.message }
    : null;
}
