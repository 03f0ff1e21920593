import { HttpError, limitBody } from '@matrixos/shared';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { Sessions } from '../accounts/sessions.ts';
import type { PlatformConfig } from '../config.ts';
import type { Homeserver } from '../matrix/homeserver.ts';
import { requireFreshProof, requireUser } from './meRoutes.ts';
import { rateLimited } from './rateLimited.ts';
import type { AppEnv, SessionCookies } from './sessionCookies.ts';

export interface MatrixLoginDeps {
  cookies: SessionCookies;
  sessions: Sessions;
  limiter: RateLimiter;
  config: Pick<PlatformConfig, 'publicUrl'>;
  /** Null or absent: no homeserver here (`matrix_off`). */
  homeserver?: Pick<Homeserver, 'ownerId' | 'resetOwnerPassword'> | null;
}

/** New passwords per user and hour: each one signs out the account's other Matrix devices. */
export const MATRIX_RESETS_PER_HOUR = 5;

/**
 * The owner's own Matrix account `@{handle}`, for Element or any Matrix client: `GET /me/matrix`
 * says its id and the homeserver URL clients use (the control-plane host's `/_matrix/` relay);
 * `POST /me/matrix/password` gives it a new random password, shown once, behind a fresh proof
 * of a factor (docs/matrix.md says why a new one rather than the stored one).
 */
export function matrixLoginRoute(deps: MatrixLoginDeps) {
  const app = new Hono<AppEnv>();
  const homeserverUrl = deps.config.publicUrl.origin;
  function ownerOf(handle: string) {
    const hs = deps.homeserver;
    if (!hs) throw new HttpError(404, 'matrix_off', 'this server runs no Matrix homeserver');
    const userId = hs.ownerId(handle);
    if (!userId)
      throw new HttpError(
        409,
        'matrix_not_ready',
        'your Matrix account is not registered yet (the homeserver may be down); try again later',
      );
    return { hs, userId };
  }
  app.use('/me/matrix', requireUser(deps.cookies));
  app.use('/me/matrix/*', limitBody(1024), requireUser(deps.cookies));
  app.get('/me/matrix', (c) => {
    const { userId } = ownerOf(c.var.user.handle);
    return c.json({ userId, homeserverUrl });
  });
  app.post('/me/matrix/password', requireFreshProof(deps.sessions), async (c) => {
    const { handle, userId } = c.var.user;
    const { hs } = ownerOf(handle);
    const gate = deps.limiter.hit(`matrix-password:${userId}`, MATRIX_RESETS_PER_HOUR, 60 * 60_000);
    if (!gate.ok) throw rateLimited(gate.retryAfterMs);
    let login: { userId: string; password: string } | null;
    try {
      login = await hs.resetOwnerPassword(handle);
    } catch (err) {
      throw new HttpError(
        502,
        'homeserver_failed',
        `the homeserver did not take the new password; your old one still works (${(err as Error).message})`,
      );
    }
    if (!login) throw new HttpError(409, 'matrix_not_ready', 'your Matrix account is not registered yet');
    c.header('cache-control', 'no-store');
    return c.json({ userId: login.userId, homeserverUrl, password: login.password }, 201);
  });
  return app;
}
