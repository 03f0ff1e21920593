import { HttpError } from '@matrixos/shared';

/** Which side of an operation failed: the target itself, or a directory on its way. */
export type FsWhere = 'target' | 'parent';

/**
 * The answer a filesystem error deserves, or null when it is not one (or not one a request can
 * cause). Every code a path or a full disk can provoke is a clear 4xx (or 507 / 503 for the
 * instance's own trouble), so that no name a user types becomes a 500.
 */
export function fsErrorToHttp(err: unknown, where: FsWhere = 'target'): HttpError | null {
  if (err instanceof HttpError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return null;
  switch (code) {
    case 'ENOENT':
      return new HttpError(404, 'not_found', 'no such file or directory');
    case 'ENOTDIR':
    case 'EEXIST':
      return where === 'parent'
        ? new HttpError(409, 'parent_not_a_directory', 'a parent of this path is a file')
        : new HttpError(404, 'not_found', 'no such file or directory');
    case 'EISDIR':
      return new HttpError(409, 'is_a_directory', 'the path is a directory');
    case 'ENOTEMPTY':
      return new HttpError(409, 'directory_not_empty', 'the directory is not empty (add ?recursive=true)');
    case 'EACCES':
    case 'EPERM':
      return new HttpError(403, 'permission_denied', 'the instance may not access this path');
    case 'EROFS':
      return new HttpError(403, 'read_only', 'this part of the home is read-only');
    case 'ENAMETOOLONG':
      return new HttpError(400, 'name_too_long', 'a name in the path is too long (255 bytes at most)');
    case 'ELOOP':
      return new HttpError(400, 'symlink_loop', 'the path goes through too many symbolic links');
    case 'EINVAL':
    case 'EILSEQ':
      return new HttpError(400, 'invalid_path', 'the filesystem does not accept this path');
    case 'EBUSY':
    case 'ETXTBSY':
      return new HttpError(409, 'busy', 'the file is in use; try again');
    case 'EFBIG':
      return new HttpError(413, 'file_too_large', 'the file is larger than the filesystem allows');
    case 'EXDEV':
      return new HttpError(409, 'cross_device', 'the path crosses into another filesystem');
    case 'ENOSPC':
    case 'EDQUOT':
      return new HttpError(507, 'insufficient_storage', 'the home is out of space: delete some files first');
    case 'EMFILE':
    case 'ENFILE':
      return new HttpError(503, 'busy', 'the instance has too many files open; try again', undefined, {
        'Retry-After': '1',
      });
    default:
      return null;
  }
}
