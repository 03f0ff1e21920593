import { HttpError } from '@matrixos/shared';

/** Runs a filesystem call, turning the errors a user can cause into 4xx answers. */
export async function fsCall<T>(fn: () => Promise<T>, where: 'target' | 'parent' = 'target'): Promise<T> {
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
