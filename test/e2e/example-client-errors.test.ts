/**
 * A client's mistake in the example apps' own forms (a body over their 16 KiB limit) is answered with its own status
 * and page, and stays out of the server's error log: any visitor could otherwise turn 500s and stack traces on at will.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExample, type RunningExample } from './example-server.js';

describe.each(['express-app', 'koa-app'] as const)('%s: a client error in a form post', (name) => {
  let app: RunningExample;
  beforeAll(async () => {
    app = await startExample(name);
  }, 30_000);
  afterAll(() => app?.stop());

  it('answers a login form over 16 KiB with 413 and a page saying so, logging nothing', async () => {
    const body = `username=someone&password=${'x'.repeat(20 * 1024)}`;
    const response = await fetch(`${app.url}/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('The form is too large');
    // The server is still there, and printed nothing after its start-up lines.
    expect((await fetch(`${app.url}/login/`)).status).toBe(200);
    expect(app.output().trim().split('\n')).toHaveLength(2);
  });

});
