import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { cookieNames } from '../accounts/cookieNames.ts';
import {
  ACCESS_TTL_MS,
  type IssuedTokens,
  REFRESH_TTL_MS,
  type Sessions,
  type SessionUser,
} from '../accounts/sessions.ts';

export type AppEnv = { Variables: { user: SessionUser } };

/** The control plane's side of sessions: cookies in, the signed-in user out. */
export function createSessionCookies(deps: { sessions: Sessions; secure: boolean }) {
  const { sessions, secure } = deps;
  const names = cookieNames(secure);
  const base = { httpOnly: true, secure, sameSite: 'Lax' as const, path: '/' };

  function set(c: Context, tokens: IssuedTokens): void {
    setCookie(c, names.access, tokens.access, { ...base, maxAge: ACCESS_TTL_MS / 1000 });
    setCookie(c, names.refresh, tokens.refresh, { ...base, maxAge: REFRESH_TTL_MS / 1000 });
  }

  function clear(c: Context): void {
    deleteCookie(c, names.access, base);
    deleteCookie(c, names.refresh, base);
  }

  return {
    names,
    set,
    clear,
    /**
     * The signed-in user, refreshing transparently when the access token has run out but the
     * refresh token is good. A refused refresh (reused, revoked) clears the cookies.
     */
    async resolve(c: Context): Promise<SessionUser | null> {
      const access = getCookie(c, names.access);
      if (access) {
        const user = await sessions.verifyAccess(access);
        if (user) return user;
      }
      const refresh = getCookie(c, names.refresh);
      if (!refresh) return null;
      const rotated = await sessions.rotate(refresh);
      if ('refused' in rotated) {
        clear(c);
        return null;
      }
      set(c, rotated.tokens);
      return sessions.verifyAccess(rotated.tokens.access);
    },
  };
}

export type SessionCookies = ReturnType<typeof createSessionCookies>;
