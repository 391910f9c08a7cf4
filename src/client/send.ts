/**
 * Sends one file as `multipart/form-data` with XMLHttpRequest, because only XHR reports upload progress
 * (`fetch` has no upload progress events). Resolves with the status and parsed JSON body for every HTTP answer;
 * rejects only when no answer arrived (network failure, abort, or a stall).
 */

/** An HTTP answer to an upload. */
export interface SendResult {
  /** HTTP status. */
  status: number;
  /** The parsed JSON body, or null when the body was not JSON. */
  body: unknown;
}

/** Options of {@link sendFile}. */
export interface SendOptions {
  /** Called as bytes go out. */
  onProgress?: (loaded: number, total: number) => void;
  /** Called once the whole body is sent and the server is processing. */
  onSent?: () => void;
  /** Aborts the request; the promise then rejects with an `AbortError` DOMException. */
  signal?: AbortSignal;
  /**
   * Milliseconds without any sign of life — no upload progress, no answer — after which the request is aborted and
   * the promise rejects with a `TimeoutError` DOMException. A server or proxy that stops reading the body and never
   * answers would otherwise leave the request open for good; a slow upload that keeps moving is never cut off.
   * Default: no limit.
   */
  stallTimeout?: number;
  /** Text fields sent before the file, e.g. the crop rectangle (`crop_left`, …). */
  fields?: Record<string, string>;
}

/**
 * POSTs `file` under `fieldName` to `url`, asking for JSON (`Accept` and `X-Requested-With`, which the adapters use
 * to answer with JSON instead of a redirect).
 * @example
 * ```ts
 * const { status, body } = await sendFile('/upload-profile-picture/', 'profile_picture', file, { onProgress });
 * ```
 */
export function sendFile(url: string, fieldName: string, file: File, options: SendOptions = {}): Promise<SendResult> {
  const { onProgress, onSent, signal, stallTimeout, fields = {} } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('The upload was aborted.', 'AbortError'));
    const xhr = new XMLHttpRequest();
    let stalled = false;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    // Every sign of life (bytes going out, the body done, the answer's headers or body arriving) restarts the wait.
    const alive = () => {
      clearTimeout(watchdog);
      if (stallTimeout === undefined) return;
      watchdog = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, Math.min(stallTimeout, MAX_DELAY));
    };
    xhr.open('POST', url);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    xhr.upload.onprogress = (event) => {
      alive();
      if (event.lengthComputable) onProgress?.(event.loaded, event.total);
    };
    xhr.upload.onload = () => {
      alive();
      onSent?.();
    };
    xhr.onreadystatechange = alive;
    xhr.onprogress = alive;
    xhr.onloadend = () => clearTimeout(watchdog);
    xhr.onload = () => resolve({ status: xhr.status, body: parseJson(xhr.responseText) });
    xhr.onerror = () => reject(new TypeError('Network error'));
    xhr.onabort = () =>
      reject(
        stalled
          ? new DOMException(`Nothing was sent or received for ${stallTimeout} ms.`, 'TimeoutError')
          : new DOMException('The upload was aborted.', 'AbortError'),
      );
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append(fieldName, file, file.name);
    xhr.send(form);
    alive();
  });
}

// --- internal ---

/** setTimeout's largest delay (about 24.8 days); a longer one fires at once. */
const MAX_DELAY = 2 ** 31 - 1;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
