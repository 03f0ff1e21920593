import { limitBody } from '@matrixos/shared';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import { SOCIAL_LIMITS } from '../api/contract/social.ts';
import type { Social } from '../social/social.ts';
import { mountSocialHandlers } from '../social/socialHandlers.ts';
import { requireUser } from './meRoutes.ts';
import { rateLimited } from './rateLimited.ts';
import type { AppEnv, SessionCookies } from './sessionCookies.ts';

/**
 * The social API for signed-in people (the dashboard, their browser): never anonymous (the
 * landing page shows counts only), rate-limited per account. Writes pass the app's `Origin` check.
 */
export function socialRoutes(deps: { social: Social; cookies: SessionCookies; limiter: RateLimiter }) {
  const app = new Hono<AppEnv>();
  for (const path of ['/social/*', '/me/social', '/me/social/*']) {
    app.use(path, limitBody(1024));
    app.use(path, requireUser(deps.cookies));
    app.use(path, async (c, next) => {
      const hit = deps.limiter.hit(`social:${c.var.user.userId}`, SOCIAL_LIMITS.readsPerMinute, 60_000);
      if (!hit.ok) throw rateLimited(hit.retryAfterMs);
      await next();
    });
  }
  mountSocialHandlers(app, deps.social, (c) => c.var.user.handle, {
    reads: '/social',
    settings: '/me/social',
    blocks: '/me/social/blocks',
  });
  return app;
}
