import { HttpError, limitBody, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { PlatformConfig } from '../config.ts';
import type { Rollouts } from '../rollout/createRollouts.ts';
import { rolloutBody } from './contract/admin.ts';

/** A rollout re-creates every instance: a few a minute is already more than anyone needs. */
const ROLLOUTS_PER_MINUTE = 6;

/**
 * `GET /admin/rollout` (the newest rollout, its progress and any failure, and the images that must
 * stay on the engine) and `POST /admin/rollout` (move every instance to INSTANCE_IMAGE as the
 * engine has it now, e.g. after `build-image.sh` moved the tag). Mounted behind `requireAdmin`.
 */
export function rolloutRoutes(deps: {
  rollouts: Rollouts;
  limiter: RateLimiter;
  config: Pick<PlatformConfig, 'instance'>;
}) {
  const { rollouts } = deps;
  return new Hono()
    .use('/admin/rollout', limitBody(1024))
    .get('/admin/rollout', (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json({
        rollout: rollouts.latest(),
        configuredImage: deps.config.instance.image,
        imagesInUse: rollouts.imagesInUse(),
      });
    })
    .post('/admin/rollout', async (c) => {
      // No settings yet: an empty body or `{}`; anything else is refused, not ignored.
      if (c.req.header('content-length') !== '0' && (await c.req.raw.clone().text()).length > 0)
        await readJson(c, rolloutBody);
      const r = deps.limiter.hit('admin-rollout', ROLLOUTS_PER_MINUTE, 60_000);
      if (!r.ok) {
        const seconds = Math.ceil(r.retryAfterMs / 1000);
        throw new HttpError(429, 'rate_limited', `too many rollouts; try again in ${seconds} s`, undefined, {
          'Retry-After': String(seconds),
        });
      }
      return c.json({ rollout: await rollouts.begin('admin') }, 202);
    });
}
