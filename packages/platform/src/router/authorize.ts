import type http from 'node:http';
import {
  bearerToken,
  safeEqual,
  TELEGRAM_SECRET_HEADER,
  TELEGRAM_WEBHOOK_PATH,
  telegramWebhookSecret,
} from '@matrixos/shared';
import { ALL_PLATFORM_COOKIES, cookieNames } from '../accounts/cookieNames.ts';
import type { InstanceAccess, InstanceViewer } from '../accounts/instanceAccess.ts';

/**
 * Who may reach an instance through the router:
 * - `session`: the owner's (or an admin's) browser, by the session cookie a bridge token minted on
 *   this host; the router gives the gateway the instance's own token instead;
 * - `token`: an API client presenting the instance's token itself;
 * - `health`: anyone, for `/health` only;
 * - `channel`: Telegram's webhook call, `POST /api/channels/telegram/webhook` exactly, and only
 *   with the instance's webhook secret in `X-Telegram-Bot-Api-Secret-Token` (derived from its
 *   token, as the gateway registered it): checked here, so a stranger cannot wake an instance;
 * - `refuse`: everyone else, before anything is forwarded (and before anything is woken).
 */
export type Access = 'session' | 'token' | 'health' | 'channel' | 'refuse';

/** The decision, and for `session` whose session it is (the router closes its sockets on revocation). */
export interface Authorized {
  access: Access;
  session?: InstanceViewer & { sessionId: string };
}

export function createAuthorizer(deps: { access: InstanceAccess; secure: boolean }) {
  const { access } = deps;
  const sessionCookie = cookieNames(deps.secure).instance;

  return function authorize(req: http.IncomingMessage, handle: string, path: string): Authorized {
    const h = req.headers;
    // The platform's cookies never reach a tenant's code, whichever host set them.
    let sessionId: string | undefined;
    if (h.cookie) {
      const kept: string[] = [];
      for (const part of h.cookie.split(';')) {
        const eq = part.indexOf('=');
        const name = (eq === -1 ? part : part.slice(0, eq)).trim();
        if (!ALL_PLATFORM_COOKIES.has(name)) {
          if (part.trim()) kept.push(part.trim());
        } else if (name === sessionCookie) sessionId = part.slice(eq + 1).trim();
      }
      if (kept.length) h.cookie = kept.join('; ');
      else delete h.cookie;
    }
    const viewer = sessionId ? access.viewer(sessionId, handle) : null;
    if (sessionId && viewer) {
      const token = access.instanceToken(handle);
      if (token) {
        h.authorization = `Bearer ${token}`;
        return { access: 'session', session: { ...viewer, sessionId } };
      }
    }
    const presented = bearerToken(h.authorization);
    delete h.authorization;
    if (presented !== null) {
      const token = access.instanceToken(handle);
      if (token && safeEqual(presented, token)) {
        h.authorization = `Bearer ${presented}`;
        return { access: 'token' };
      }
      return { access: 'refuse' };
    }
    if (req.method === 'POST' && path === TELEGRAM_WEBHOOK_PATH) {
      const presentedSecret = h[TELEGRAM_SECRET_HEADER];
      const token = access.instanceToken(handle);
      return {
        access:
          typeof presentedSecret === 'string' &&
          token &&
          safeEqual(presentedSecret, telegramWebhookSecret(token))
            ? 'channel'
            : 'refuse',
      };
    }
    return { access: path === '/health' || path.startsWith('/health?') ? 'health' : 'refuse' };
  };
}
