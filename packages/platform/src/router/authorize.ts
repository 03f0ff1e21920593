import type http from 'node:http';
import {
  bearerToken,
  instancePassKey,
  safeEqual,
  TELEGRAM_SECRET_HEADER,
  TELEGRAM_WEBHOOK_PATH,
  telegramWebhookSecret,
  verifyInstancePass,
} from '@matrixos/shared';
import { ALL_PLATFORM_COOKIES, cookieNames } from '../accounts/cookieNames.ts';
import type { InstanceAccess, InstanceViewer } from '../accounts/instanceAccess.ts';

/**
 * Who may reach an instance through the router:
 * - `session`: the owner's (or an admin's) browser, by the instance pass the bridge set on this
 *   host, whose session still holds; the pass goes on to the gateway, which checks it too (the
 *   native edge sends it there directly);
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

export function createAuthorizer(deps: {
  access: InstanceAccess;
  secure: boolean;
  /** The instance's host as browsers see it: the audience its passes are signed for. */
  hostOf: (handle: string) => string;
  clock: () => number;
}) {
  const { access } = deps;
  const passCookie = cookieNames(deps.secure).instance;
  const keys = new Map<string, { token: string; key: Uint8Array }>();

  function keyOf(handle: string, token: string): Uint8Array {
    const known = keys.get(handle);
    if (known?.token === token) return known.key;
    const key = instancePassKey(token);
    keys.set(handle, { token, key });
    return key;
  }

  /** The pass's session, when it verifies for this instance and still holds. */
  async function passViewer(pass: string, handle: string): Promise<Authorized['session'] | null> {
    const token = access.instanceToken(handle);
    if (!token) return null;
    const check = await verifyInstancePass(
      pass,
      { key: keyOf(handle, token), host: deps.hostOf(handle) },
      deps.clock(),
    );
    if (!check.ok) return null;
    const viewer = access.viewer(check.claims.sid, handle);
    return viewer ? { ...viewer, sessionId: check.claims.sid } : null;
  }

  return async function authorize(
    req: http.IncomingMessage,
    handle: string,
    path: string,
  ): Promise<Authorized> {
    const h = req.headers;
    // The platform's cookies never reach a tenant's code, whichever host set them; the pass is
    // the instance's own (it verifies it), and goes on only when it is the right one.
    let pass: string | undefined;
    if (h.cookie) {
      const kept: string[] = [];
      for (const part of h.cookie.split(';')) {
        const eq = part.indexOf('=');
        const name = (eq === -1 ? part : part.slice(0, eq)).trim();
        if (!ALL_PLATFORM_COOKIES.has(name)) {
          if (part.trim()) kept.push(part.trim());
        } else if (name === passCookie) pass = part.slice(eq + 1).trim();
      }
      if (kept.length) h.cookie = kept.join('; ');
      else delete h.cookie;
    }
    const session = pass ? await passViewer(pass, handle) : null;
    if (pass && session) {
      h.cookie = h.cookie ? `${h.cookie}; ${passCookie}=${pass}` : `${passCookie}=${pass}`;
      delete h.authorization;
      return { access: 'session', session };
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
