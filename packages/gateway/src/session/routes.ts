import { HttpError, limitBody, readJson, safeEqual } from '@matrixos/shared';
import { Hono } from 'hono';
import type { AuthEnv } from '../auth/require-auth.ts';
import type { GatewayConfig } from '../config.ts';
import { signInSchema } from '../contract/bodies.ts';
import { VERSION } from '../version.ts';
import { clearSessionCookie, setSessionCookie } from './cookie.ts';
import type { SessionStore } from './store.ts';

/**
 * `POST /api/session` {token}: signs a browser in (a cookie holding a random session id, never
 * the token); `GET /api/session`: who is signed in and how; `DELETE /api/session`: signs out.
 */
export function sessionRoutes({
  token,
  sessions,
  config,
}: {
  token: string;
  sessions: SessionStore;
  config: Pick<GatewayConfig, 'handle' | 'mode'>;
}): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  // A token is at most 1000 characters: nothing bigger is read.
  app.post('/api/session', limitBody(4 * 1024), async (c) => {
    const input = await readJson(c, signInSchema);
    if (!safeEqual(input.token, token)) {
      throw new HttpError(401, 'invalid_token', 'that is not the access token of this instance');
    }
    setSessionCookie(c, await sessions.create());
    return c.json({ signedIn: true, handle: config.handle });
  });

  app.get('/api/session', (c) => {
    const auth = c.get('auth')!;
    return c.json({ handle: config.handle, mode: config.mode, version: VERSION, via: auth.via });
  });

  app.delete('/api/session', async (c) => {
    const auth = c.get('auth')!;
    if (auth.via === 'session') await sessions.revoke(auth.sessionId);
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  return app;
}
