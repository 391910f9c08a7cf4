/// <reference lib="dom" />
/**
 * Serving the widget the documented way, from a CommonJS app and from an ES module app: each is a real Node process
 * that loads the built package by name, serves the file at `clientScriptPath` as `text/javascript`, and Chromium runs
 * it as a module script (the element is defined and renders). The control serves what
 * `require.resolve('profile-picture/client')` gives a CommonJS app — the CommonJS build, which a browser cannot run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, hasChromium, launchChromium } from './browser.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WIDGET = 'profile-picture-upload';

/** A server answering `/` with a page that loads `/widget.js`, which is the file at `scriptPath`. */
const server = (scriptPath: string) => `
const page = '<!doctype html><title>widget</title><${WIDGET}></${WIDGET}><script type="module" src="/widget.js"></script>';
http.createServer((req, res) => {
  if (req.url === '/widget.js') {
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(fs.readFileSync(${scriptPath}));
  } else {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
  }
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

const APPS = {
  'a CommonJS app': {
    type: 'commonjs',
    source: `const fs = require('node:fs'); const http = require('node:http');
             const { clientScriptPath } = require('profile-picture'); ${server('clientScriptPath')}`,
  },
  'an ES module app': {
    type: 'module',
    source: `import fs from 'node:fs'; import http from 'node:http';
             import { clientScriptPath } from 'profile-picture'; ${server('clientScriptPath')}`,
  },
  'control: a CommonJS app serving require.resolve("profile-picture/client")': {
    type: 'commonjs',
    source: `const fs = require('node:fs'); const http = require('node:http');
             ${server("require.resolve('profile-picture/client')")}`,
  },
} as const;

describe.skipIf(!hasChromium)('serving the widget from clientScriptPath, in Chromium', () => {
  let browser: Browser;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    for (const child of children) child.kill();
  });

  /** Starts `source` as its own Node process in the package root (the package resolves itself by name). */
  async function start(type: string, source: string): Promise<string> {
    const child = spawn(process.execPath, ['--input-type', type, '--eval', source], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const [port] = (await once(child.stdout!, 'data')) as [Buffer];
    return `http://127.0.0.1:${port.toString().trim()}/`;
  }

  /** Loads the page; whether the element got defined and rendered its drop zone, and the page's errors. */
  async function load(url: string) {
    const tab = await browser.newPage();
    const errors = collectPageErrors(tab);
    try {
      const script = tab.waitForResponse((response) => response.url().endsWith('/widget.js'));
      await tab.goto(url);
      const type = (await script).headers()['content-type'];
      // A module script has run by the time `load` fires (goto waits for it).
      const rendered = await tab.evaluate(
        (tag) => customElements.get(tag) !== undefined && document.querySelector(tag)!.shadowRoot?.querySelector('.zone') != null,
        WIDGET,
      );
      return { type, rendered, errors };
    } finally {
      await tab.close();
    }
  }

  for (const [name, app] of Object.entries(APPS)) {
    const control = name.startsWith('control');
    it(`${name}: ${control ? 'the browser cannot run it' : 'the element is defined and renders'}`, async () => {
      const result = await load(await start(app.type, app.source));
      expect(result.type).toBe('text/javascript; charset=utf-8');
      if (control) {
        expect(result.rendered).toBe(false);
        expect(result.errors.join('\n')).toMatch(/pageerror: .*(module|exports|require) is not defined/);
      } else {
        expect(result).toEqual({ type: 'text/javascript; charset=utf-8', rendered: true, errors: [] });
      }
    });
  }
});
