import { Hono } from 'hono';
import { resolveTarget } from '../router/resolveTarget.ts';

/**
 * `GET /tls/ask?domain=…`: Caddy's on-demand TLS asks here before it gets a certificate for a
 * name. Yes (200) for the platform's own names and for instances that exist; no (404) for
 * anything else, so nobody can make the edge request certificates for made-up names.
 */
export function tlsAskRoute(deps: { domain: string; exists: (handle: string) => boolean }) {
  const own = new Set([deps.domain, `app.${deps.domain}`]);
  return new Hono().get('/tls/ask', (c) => {
    const name = (c.req.query('domain') ?? '').toLowerCase();
    if (own.has(name)) return c.body(null, 200);
    const target = resolveTarget(name, '/', deps.domain);
    if (target && deps.exists(target.handle)) return c.body(null, 200);
    return c.body(null, 404);
  });
}
