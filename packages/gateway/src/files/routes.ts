import { lstat, mkdir, open, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { HttpError } from '@matrixos/shared';
import { type Context, Hono } from 'hono';
import type { EventBus } from '../events/bus.ts';
import { PRIVATE_DIR } from '../home/layout.ts';
import type { StorageGuard } from '../storage/guard.ts';
import { fsCall } from './fs-call.ts';
import { contentTypeOf } from './mime.ts';
import { assertInsideHome, type HomePath, parseFilePath } from './path.ts';
import { tooLarge, writeFileAtomic } from './write.ts';

export interface FileRoutesDeps {
  home: string;
  maxFileBytes: number;
  /** Refuses writes that would leave the home's filesystem below its reserve (507). */
  storage?: StorageGuard;
  bus: EventBus;
}

/** `GET|HEAD|PUT|DELETE /files/*`: the user's home over HTTP. */
export function fileRoutes({ home, maxFileBytes, bus, storage }: FileRoutesDeps): Hono {
  const app = new Hono();
  const target = (c: Context) => {
    const encoded = new URL(c.req.url).pathname.slice('/files'.length);
    return { path: parseFilePath(home, encoded), trailingSlash: encoded.endsWith('/') && encoded.length > 1 };
  };

  app.on(['GET', 'HEAD'], ['/files', '/files/*'], async (c) => {
    const { path } = target(c);
    await assertInsideHome(home, path.abs, true);
    const info = await fsCall(() => stat(path.abs));
    if (info.isDirectory()) {
      if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': 'application/json' });
      return c.json(await listDirectory(path));
    }
    if (!info.isFile())
      throw new HttpError(403, 'not_a_regular_file', 'only regular files and directories are served');
    const headers = {
      'Content-Type': contentTypeOf(path.abs),
      'Content-Length': String(info.size),
      'Last-Modified': info.mtime.toUTCString(),
      'Cache-Control': 'private, no-cache',
      'X-Content-Type-Options': 'nosniff',
      // An HTML file opened from here must not run as the shell's origin (it could act as the
      // owner): it gets an opaque origin and no scripts. Apps have their own route for running.
      'Content-Security-Policy':
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
    };
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    const handle = await fsCall(() => open(path.abs, 'r'));
    const stream = Readable.toWeb(handle.createReadStream()) as unknown as globalThis.ReadableStream;
    return c.body(stream, 200, headers);
  });

  app.put('/files/*', async (c) => {
    const { path, trailingSlash } = target(c);
    if (path.rel === '' || trailingSlash) throw new HttpError(400, 'invalid_path', 'PUT needs a file path');
    const declared = Number(c.req.header('content-length'));
    if (declared > maxFileBytes) throw tooLarge(maxFileBytes);
    await storage?.ensureRoom(Number.isFinite(declared) ? declared : 0);
    await assertInsideHome(home, path.abs, false);
    const existing = await lstat(path.abs).catch(() => null);
    if (existing?.isDirectory()) throw new HttpError(409, 'is_a_directory', `${path.rel} is a directory`);
    await fsCall(() => mkdir(dirname(path.abs), { recursive: true }), 'parent');
    const { size, replaced } = await fsCall(() =>
      writeFileAtomic(path.abs, c.req.raw.body as ReadableStream<Uint8Array> | null, maxFileBytes),
    );
    bus.publish({ type: 'files.changed', path: path.rel, action: replaced ? 'updated' : 'created' });
    return c.json({ path: path.rel, size }, replaced ? 200 : 201);
  });

  app.delete('/files/*', async (c) => {
    const { path } = target(c);
    if (path.rel === '') throw new HttpError(400, 'invalid_path', 'the home itself cannot be deleted');
    await assertInsideHome(home, path.abs, false);
    const info = await fsCall(() => lstat(path.abs));
    if (info.isDirectory()) {
      if (c.req.query('recursive') === 'true') await fsCall(() => rm(path.abs, { recursive: true }));
      else await fsCall(() => rmdir(path.abs));
    } else {
      await fsCall(() => rm(path.abs));
    }
    bus.publish({ type: 'files.changed', path: path.rel, action: 'deleted' });
    return c.body(null, 204);
  });

  return app;
}

async function listDirectory(path: HomePath) {
  const entries = await readdir(path.abs, { withFileTypes: true });
  const visible = entries.filter((e) => !(path.rel === '' && e.name === PRIVATE_DIR));
  const listed = await Promise.all(
    visible.map(async (e) => {
      const info = await lstat(join(path.abs, e.name)).catch(() => null);
      if (!info) return null; // removed while listing
      const type = info.isDirectory()
        ? 'directory'
        : info.isFile()
          ? 'file'
          : info.isSymbolicLink()
            ? 'symlink'
            : 'other';
      return { name: e.name, type, size: info.size, modifiedAt: info.mtime.toISOString() };
    }),
  );
  return {
    path: path.rel,
    entries: listed.filter((e) => e !== null).sort((a, b) => a.name.localeCompare(b.name)),
  };
}
