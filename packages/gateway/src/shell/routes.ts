import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { BROWSER_DIR } from '@matrixos/shared';
import { Hono } from 'hono';
import type { AuthEnv } from '../auth/require-auth.ts';
import type { GatewayConfig } from '../config.ts';
import { contentTypeOf } from '../files/mime.ts';

/**
 * The shell and the sign-in page run only the shell's own files: no inline script or style, no
 * other origin. `connect-src 'self'` covers the WebSocket; `frame-src 'self'` the apps' iframes.
 */
export const SHELL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_HEADERS = {
  'Content-Security-Policy': SHELL_CSP,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/**
 * `/`: the shell for the signed-in owner, the sign-in page for anyone else (never a blank page; in
 * platform mode no one else gets here: requireAuth sends a browser through the platform instead).
 * `/shell/*`: its scripts, styles and icons, public (they hold nothing secret), read once at start.
 */
export function shellRoutes({
  shellDir,
  sharedDir = BROWSER_DIR,
  config,
}: {
  shellDir: string;
  /** The browser helpers shared with the platform's pages, served under `/shell/shared/`. */
  sharedDir?: string;
  config: Pick<GatewayConfig, 'handle' | 'mode'>;
}): Hono<AuthEnv> {
  const assets = loadAssets(shellDir);
  for (const [path, asset] of loadAssets(sharedDir)) assets.set(`shared/${path}`, asset);
  const page = (name: string) =>
    readFileSync(join(shellDir, name), 'utf8')
      .replaceAll('{{handle}}', config.handle)
      .replaceAll('{{mode}}', config.mode);
  const shell = page('index.html');
  const signIn = page('signin.html');

  const app = new Hono<AuthEnv>();
  app.get('/', (c) => c.html(c.get('auth') ? shell : signIn, 200, PAGE_HEADERS));

  app.get('/shell/*', (c) => {
    const asset = assets.get(c.req.path.slice('/shell/'.length));
    if (!asset) return c.json({ error: { code: 'not_found', message: 'no such shell file' } }, 404);
    const headers = {
      'Content-Type': asset.type,
      ETag: asset.etag,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    return c.body(asset.body, 200, headers);
  });
  return app;
}

/** Every file of the shell's folder but its two pages, by path relative to it. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.html')) continue;
    const path = join(entry.parentPath, entry.name);
    const body = new Uint8Array(readFileSync(path));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const type = path.endsWith('.js') ? 'text/javascript; charset=utf-8' : contentTypeOf(path);
    assets.set(relative(dir, path).split(sep).join('/'), { body, type, etag });
  }
  return assets;
}
