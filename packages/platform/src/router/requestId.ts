import type http from 'node:http';

const SAFE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request's id as the edge set it (`X-Request-Id`, e.g. Caddy's `{http.request.uuid}`), for
 * log lines; undefined when there is none or it is not a plain token. Read only when a line is
 * logged, so the hot path pays nothing for it.
 */
export function requestIdOf(req: http.IncomingMessage): string | undefined {
  const id = req.headers['x-request-id'];
  return typeof id === 'string' && SAFE.test(id) ? id : undefined;
}
