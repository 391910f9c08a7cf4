/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * What a page uploads: every FormData it sends with XMLHttpRequest, recorded where the request is made (Chromium
 * does not report a multipart body holding a file to the test).
 */
import type { BrowserContext, Page } from 'playwright-core';

/** One FormData the page sent: its text fields, and its files' names, sizes and types. */
export interface SentForm {
  fields: Record<string, string>;
  files: Array<{ field: string; name: string; size: number; type: string }>;
}

/**
 * Records every FormData the pages of `target` send from now on.
 * @example
 * ```ts
 * await recordSentForms(context);
 * ```
 */
export async function recordSentForms(target: BrowserContext): Promise<void> {
  await target.addInitScript(() => {
    const sent: SentForm[] = [];
    (window as unknown as { __sent: SentForm[] }).__sent = sent;
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      if (body instanceof FormData) {
        const form: SentForm = { fields: {}, files: [] };
        for (const [field, value] of body.entries()) {
          if (typeof value === 'string') form.fields[field] = value;
          else form.files.push({ field, name: value.name, size: value.size, type: value.type });
        }
        sent.push(form);
      }
      return send.call(this, body);
    };
  });
}

/** The last FormData `page` sent (recorded by {@link recordSentForms}). */
export function lastSentForm(page: Page): Promise<SentForm> {
  return page.evaluate(() => (window as unknown as { __sent: SentForm[] }).__sent.at(-1)!);
}
