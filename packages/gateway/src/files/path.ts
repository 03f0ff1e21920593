import { realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { HttpError } from '@matrixos/shared';
import { PRIVATE_DIR } from '../home/layout.ts';

/** The longest file name Linux filesystems take (ext4, XFS, overlayfs: 255 bytes). */
const NAME_MAX_BYTES = 255;

export interface HomePath {
  /** Absolute path on disk. */
  abs: string;
  /** Relative to the home with forward slashes; '' is the home itself. */
  rel: string;
}

/**
 * Turns the percent-encoded path after `/files` into a path inside the home, refusing anything
 * that could point elsewhere: `.`/`..` segments (encoded or not), encoded slashes, NUL bytes,
 * empty segments (`//etc`), and the instance-private directory.
 */
export function parseFilePath(home: string, encoded: string): HomePath {
  const raw = encoded.replace(/^\//, '').replace(/\/$/, '');
  if (raw === '') return { abs: home, rel: '' };
  return fromSegments(
    home,
    raw.split('/').map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw invalid('the path has malformed percent-encoding');
      }
    }),
  );
}

/**
 * The same checks for a plain path relative to the home, as the AI's tools get them
 * (`notes/a.md`, also written `~/notes/a.md` or `./notes/a.md`). Absolute paths are refused.
 */
export function resolveHomePath(home: string, path: string): HomePath {
  const raw = path
    .trim()
    .replace(/^~(?=\/|$)/, '')
    .replace(/^\.(?=\/|$)/, '');
  if (path.trim().startsWith('/')) throw invalid('paths are relative to the home, like notes/today.md');
  const trimmed = raw.replace(/^\//, '').replace(/\/$/, '');
  if (trimmed === '') return { abs: home, rel: '' };
  return fromSegments(home, trimmed.split('/'));
}

function fromSegments(home: string, segments: string[]): HomePath {
  for (const s of segments) {
    if (s === '') throw invalid('the path has an empty segment');
    if (s === '.' || s === '..') throw invalid('the path must not contain . or .. segments');
    if (s.includes('/') || s.includes('\0'))
      throw invalid('the path must not contain encoded slashes or NUL bytes');
    // Past NAME_MAX the filesystem says ENAMETOOLONG, from calls (realpath) no handler maps.
    if (Buffer.byteLength(s) > NAME_MAX_BYTES)
      throw new HttpError(
        400,
        'name_too_long',
        `a name in the path is too long (${NAME_MAX_BYTES} bytes at most)`,
      );
  }
  if (segments[0] === PRIVATE_DIR) throw privatePath();
  return { abs: join(home, ...segments), rel: segments.join('/') };
}

/**
 * Refuses a path that symlinks lead out of the home or into its private directory. `followFinal`
 * is for operations that open the target itself; writes and deletes replace or remove the entry
 * (never following it), so only its directory has to stay inside.
 */
export async function assertInsideHome(home: string, abs: string, followFinal: boolean): Promise<void> {
  const realHome = await realpath(home);
  const real = await realpathOfExisting(followFinal || abs === home ? abs : dirname(abs));
  if (real !== realHome && !real.startsWith(realHome + sep)) {
    throw new HttpError(403, 'path_escapes_home', 'the path leads outside the home');
  }
  if (relative(realHome, real).split(sep)[0] === PRIVATE_DIR) throw privatePath();
}

/** realpath of the longest existing prefix, with the missing rest appended as written. */
async function realpathOfExisting(path: string): Promise<string> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(current) === current) throw err;
      rest.unshift(basename(current));
      current = dirname(current);
    }
  }
}

const invalid = (message: string) => new HttpError(400, 'invalid_path', message);
const privatePath = () =>
  new HttpError(403, 'private_path', `${PRIVATE_DIR}/ holds the instance's own state`);
