import { HttpError } from '@matrixos/shared';
import type { Context } from 'hono';

/** Handles as the platform makes them (DNS labels); the proxy checks their shape only. */
export const HANDLE = /^[a-z](?:[a-z0-9]|-(?!-)){1,28}[a-z0-9]$/;

/** The `:handle` route parameter, or a 400. */
export function handleParam(c: Context): string {
  const handle = c.req.param('handle') ?? '';
  if (!HANDLE.test(handle)) throw new HttpError(400, 'invalid_handle', `"${handle}" is not a valid handle`);
  return handle;
}
