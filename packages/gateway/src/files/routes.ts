import { lstat, mkdir, open, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { HttpError } from '@matrixos/shared';
import { type Context, Hono } from 'hono';
import { getMimeType, mimes } from 'hono/utils/mime';
import type { EventBus } from '../events/bus.ts';
import { PRIVATE_DIR } from '../home/layout.ts';
import { assertInsideHome, type HomePath, parseFilePath } from './path.ts';
import { tooLarge, writeFileAtomic } from './write.ts';

export interface FileRoutesDeps {
  home: string;
  maxFileBytes: number;
  bus: EventBus;
}

// Text formats a personal home is full of that the web's list leaves out (or, for .ts, maps to video).
const MIME_TYPES: Record<string, string> = {
  ...mimes,
  md: 'text/markdown; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  jsonl: 'application/jsonl',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  ts: 'text/plain; charset=utf-8',
};

/** `GET|HEAD|PUT|DELETE /files/*`: the user's home over HTTP. */
export function fileRoutes({ home, maxFileBytes, bus }: FileRoutesDeps): Hono {
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
      'Content-Type': getMimeType(path.abs, MIME_TYPES) ?? 'application/octet-stream',
      'Content-Length': String(info.size),
      'Last-Modified': info.mtime.toUTCString(),
      'Cache-Control': 'private, no-cache',
      'X-Content-Type-Options': 'nosniff',
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

/** Runs a filesystem call, turning the errors a user can cause into 4xx answers. */
async function fsCall<T>(fn: () => Promise<T>, where: 'target' | 'parent' = 'target'): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    switch ((err as NodeJS.ErrnoException).code) {
      case 'ENOENT':
        throw new HttpError(404, 'not_found', 'no such file or directory');
      case 'ENOTDIR':
      case 'EEXIST':
        if (where === 'parent')
          throw new HttpError(409, 'parent_not_a_directory', 'a parent of this path is a file');
        throw new HttpError(404, 'not_found', 'no such file or directory');
      case 'ENOTEMPTY':
        throw new HttpError(409, 'directory_not_empty', 'the directory is not empty (add ?recursive=true)');
      case 'EACCES':
      case 'EPERM':
        throw new HttpError(403, 'permission_denied', 'the instance may not access this path');
      case 'ENAMETOOLONG':
        throw new HttpError(400, 'name_too_long', 'a name in the path is too long');
      case 'ENOSPC':
      case 'EDQUOT':
        throw new HttpError(507, 'insufficient_storage', 'the home is out of space');
      default:
        throw err;
    }
  }
}
