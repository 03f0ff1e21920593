import {
  errorHandler,
  HttpError,
  type Logger,
  limitBody,
  notFoundHandler,
  type Sealer,
} from '@matrixos/shared';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import { SOCIAL_LIMITS } from '../api/contract/social.ts';
import type { InstanceStore } from '../instances/store.ts';
import { type InstanceEnv, requireInstance } from './requireInstance.ts';
import { SOCIAL_PROFILE_PATH } from './socialRoutes.ts';

/** Requests per instance per minute, over every instance route (a job heartbeat is one per 10 s). */
export const INSTANCE_RATE_LIMIT = 120;
const MAX_BODY_BYTES = 16 * 1024;

/**
 * The platform's instance-facing API: a separate listener that serves only routes for
 * instances, authenticated by each instance's own token. The admin API, pages and router are
 * not on it (DESIGN.md §5: a tenant cannot reach the control plane). Routes are Hono apps over
 * `InstanceEnv` (`c.var.instance` is the caller), mounted here: jobs and social.
 */
export function createInstanceApi(deps: {
  store: InstanceStore;
  sealer: Sealer;
  limiter: RateLimiter;
  log: Logger;
  routes: Hono<InstanceEnv>[];
  clock?: () => number;
}): Hono<InstanceEnv> {
  const app = new Hono<InstanceEnv>();
  app.onError(errorHandler(deps.log));
  app.notFound(notFoundHandler);
  // A profile publish carries two markdown files and an avatar; everything else is tiny.
  const small = limitBody(MAX_BODY_BYTES);
  const publish = limitBody(SOCIAL_LIMITS.publishBodyBytes);
  app.use('*', (c, next) => (c.req.path === SOCIAL_PROFILE_PATH ? publish(c, next) : small(c, next)));
  app.use('*', requireInstance(deps));
  app.use('*', async (c, next) => {
    const hit = deps.limiter.hit(`instance-api:${c.var.instance}`, INSTANCE_RATE_LIMIT, 60_000);
    if (!hit.ok) {
      const retry = Math.ceil(hit.retryAfterMs / 1000);
      throw new HttpError(429, 'rate_limited', `too many requests; try again in ${retry} s`, undefined, {
        'Retry-After': String(retry),
      });
    }
    await next();
  });
  for (const routes of deps.routes) app.route('/', routes);
  return app;
}
