import { describe, expect, it } from 'vitest';
import { fsErrorToHttp } from './fs-errors.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: something`), { code });

describe('fsErrorToHttp', () => {
  it.each([
    ['ENOENT', 'target', 404, 'not_found'],
    ['ENOTDIR', 'target', 404, 'not_found'],
    ['ENOTDIR', 'parent', 409, 'parent_not_a_directory'],
    ['EEXIST', 'parent', 409, 'parent_not_a_directory'],
    ['EISDIR', 'target', 409, 'is_a_directory'],
    ['ENOTEMPTY', 'target', 409, 'directory_not_empty'],
    ['EACCES', 'target', 403, 'permission_denied'],
    ['EPERM', 'target', 403, 'permission_denied'],
    ['EROFS', 'target', 403, 'read_only'],
    ['ENAMETOOLONG', 'target', 400, 'name_too_long'],
    ['ELOOP', 'target', 400, 'symlink_loop'],
    ['EINVAL', 'target', 400, 'invalid_path'],
    ['EILSEQ', 'target', 400, 'invalid_path'],
    ['EBUSY', 'target', 409, 'busy'],
    ['ETXTBSY', 'target', 409, 'busy'],
    ['EFBIG', 'target', 413, 'file_too_large'],
    ['EXDEV', 'target', 409, 'cross_device'],
    ['ENOSPC', 'target', 507, 'insufficient_storage'],
    ['EDQUOT', 'target', 507, 'insufficient_storage'],
    ['EMFILE', 'target', 503, 'busy'],
    ['ENFILE', 'target', 503, 'busy'],
  ] as const)('%s (%s) → %i %s', (code, where, status, answer) => {
    const http = fsErrorToHttp(errno(code), where);
    expect(http?.status).toBe(status);
    expect(http?.code).toBe(answer);
    // A sentence for a person, and never the raw errno text.
    expect(http?.message).not.toContain(code);
    expect(http!.message.length).toBeGreaterThan(10);
  });

  it('leaves what is not a filesystem error alone', () => {
    expect(fsErrorToHttp(new Error('boom'))).toBeNull();
    expect(fsErrorToHttp(errno('EWHATEVER'))).toBeNull();
    expect(fsErrorToHttp(null)).toBeNull();
    expect(fsErrorToHttp('ENOENT')).toBeNull();
  });
});
