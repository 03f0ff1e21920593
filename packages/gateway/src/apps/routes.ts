import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { HttpError } from '@matrixos/shared';
import { Hono } from 'hono';
import { fsCall } from '../files/fs-call.ts';
import { contentTypeOf } from '../files/mime.ts';
import { assertInsideHome, type HomePath, parseFilePath } from '../files/path.ts';
import { APP_NAME_PATTERN, type AppStore } from './store.ts';

/**
 * What an app may do, whoever opens it (the shell's sandboxed iframe, or someone typing its URL):
 * run its own inline code in an opaque origin (`sandbox` without `allow-same-origin`, so it can
 * neither read the shell's cookie-authenticated API nor its storage), talk to no server
 * (`connect-src 'none'`), load nothing from elsewhere, and be framed only by the shell.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "media-src 'self' data: blob:",
  "connect-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
  'sandbox allow-scripts allow-forms',
].join('; ');

/** `GET /api/apps` (the launcher's list) and `GET /apps/<name>/...` (the apps themselves). */
export function appRoutes({ home, apps }: { home: string; apps: AppStore }): Hono {
  const app = new Hono();

  app.get('/api/apps', async (c) => c.json({ apps: await apps.list() }));

  // Relative, so it also lands right behind the platform's /proxy/<handle>/ prefix.
  app.get('/apps/:name{[^/]+}', (c) => {
    // Only an app name goes into Location: anything else there is a 500 (the fuzz found it).
    const name = c.req.param('name');
    if (!APP_NAME_PATTERN.test(name)) throw new HttpError(404, 'not_found', 'no app by that name');
    return c.redirect(`${name}/`, 308);
  });

  app.get('/apps/:name{[^/]+}/*', async (c) => {
    const name = c.req.param('name');
    if (!APP_NAME_PATTERN.test(name)) throw new HttpError(404, 'not_found', `no app named ${name}`);
    const rest = new URL(c.req.url).pathname.split('/').slice(3).join('/');
    const target = await entry(home, name, rest);
    const info = await fsCall(() => stat(target.abs));
    if (!info.isFile()) throw new HttpError(404, 'not_found', `no such file in app ${name}`);
    const handle = await fsCall(() => open(target.abs, 'r'));
    const body = Readable.toWeb(handle.createReadStream()) as unknown as ReadableStream;
    return c.body(body, 200, {
      'Content-Type': contentTypeOf(target.abs),
      'Content-Length': String(info.size),
      'Cache-Control': 'private, no-cache',
      'Content-Security-Policy': APP_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
  });

  return app;
}

/** The file `/apps/<name>/<rest>` stands for: the folder's files, or the single-file app. */
async function entry(home: string, name: string, rest: string): Promise<HomePath> {
  if (rest === '') {
    const index = parseFilePath(home, `apps/${name}/index.html`);
    const found = await stat(index.abs).then(
      (s) => s.isFile(),
      () => false,
    );
    const target = found ? index : parseFilePath(home, `apps/${name}.html`);
    await assertInsideHome(home, target.abs, true);
    return target;
  }
  const target = parseFilePath(home, `apps/${name}/${rest}`);
  await assertInsideHome(home, target.abs, true);
  return target;
}
