import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * Refuses a request body over `maxBytes` before it is buffered: at once from `Content-Length`,
 * or as soon as a chunked body passes the limit. The refusal is the APIs' usual JSON error (413).
 * Every route that reads a body sits behind one of these, sized for what it expects.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        {
          error: {
            code: 'body_too_large',
            message: `the request body is larger than this endpoint accepts (${maxBytes} bytes)`,
            limitBytes: maxBytes,
          },
        },
        413,
      ),
  });
}
