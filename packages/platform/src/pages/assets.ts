import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BROWSER_DIR } from '@matrixos/shared';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const DIR = new URL('./assets/', import.meta.url).pathname;

/** The browser build of `@simplewebauthn/browser` (a UMD bundle: it sets `SimpleWebAuthnBrowser`). */
function webauthnBundle(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return path.join(path.dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js');
}

/**
 * The pages' static files, read once: this folder's, the browser helpers shared with the
 * instance's shell (@matrixos/shared's `browser/`: `format.js`, `dom.js`, `http.js`), and the
 * WebAuthn browser library.
 */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const files: [string, string][] = [DIR, BROWSER_DIR].flatMap((dir) =>
    readdirSync(dir).map((name): [string, string] => [name, path.join(dir, name)]),
  );
  files.push(['webauthn.js', webauthnBundle()]);
  const assets = new Map<string, Asset>();
  for (const [name, file] of files) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}
