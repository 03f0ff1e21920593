import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BROWSER_DIR } from '@matrixos/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest, SHELL_DIR, startGateway, type TestGateway } from '../../test/harness.ts';
import { SHELL_CSP } from './routes.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway({ handle: 'alice' });
});
afterEach(() => gw.close());

/** The CSP as a map of directive → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...sources]) => [name!, sources]),
  );
}

describe('GET /', () => {
  it('shows the sign-in page to anyone not signed in, never a blank page', async () => {
    const res = await fetch(`${gw.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('<title>Sign in · @alice · Matrix OS</title>');
    expect(html).toContain('id="signin-form"');
    expect(html).not.toContain(gw.token);
    expect(html).not.toContain(gw.home);
  });

  it('shows the shell to the owner, by bearer token or session', async () => {
    const html = await (await gw.api('/')).text();
    expect(html).toContain('<title>@alice · Matrix OS</title>');
    expect(html).toContain('src="shell/main.js"');
    expect(html).not.toContain(gw.token);
  });

  it('runs under a strict CSP: only its own scripts and styles, nothing inline, framed by no one', async () => {
    for (const res of [await fetch(`${gw.url}/`), await gw.api('/')]) {
      const csp = directives(res.headers.get('content-security-policy')!);
      expect(res.headers.get('content-security-policy')).toBe(SHELL_CSP);
      expect(csp.get('default-src')).toEqual(["'none'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('has no inline script, style or event handler in any page (the CSP would block them)', async () => {
    for (const name of (await readdir(SHELL_DIR)).filter((n) => n.endsWith('.html'))) {
      const html = await readFile(join(SHELL_DIR, name), 'utf8');
      expect(html, name).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html, name).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });
});

describe('GET /shell/*', () => {
  it('serves the shell files to anyone, with types, and revalidates by ETag', async () => {
    const js = await fetch(`${gw.url}/shell/main.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${gw.url}/shell/main.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${gw.url}/shell/shell.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetch(`${gw.url}/shell/lib/windows.js`)).status).toBe(200);
    expect((await fetch(`${gw.url}/shell/index.html`)).status).toBe(404);
    // Files come from a map read at start: a path cannot lead anywhere else.
    for (const path of [
      '/shell/../.matrixos/auth-token',
      '/shell/%2e%2e/.matrixos/auth-token',
      '/shell/..%2ftemplate.json',
    ]) {
      const res = await rawRequest(gw, 'GET', path);
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(res.json)).not.toContain(gw.token);
    }
  });
});

describe('the browser library shared with the platform', () => {
  it("is served under /shell/shared/, from @matrixos/shared's browser folder", async () => {
    const gw = await startGateway();
    try {
      const res = await fetch(`${gw.url}/shell/shared/format.js`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const body = await res.text();
      expect(body).toContain('export function formatUsd(micros)');
      expect(body).toBe(await readFile(join(BROWSER_DIR, 'format.js'), 'utf8'));
    } finally {
      await gw.close();
    }
  });
});
