import { type FsWhere, fsErrorToHttp } from './fs-errors.ts';

/** Runs a filesystem call, turning the errors a user can cause into 4xx answers (fs-errors.ts). */
export async function fsCall<T>(fn: () => Promise<T>, where: FsWhere = 'target'): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsErrorToHttp(err, where) ?? err;
  }
}
