import { HANDLE_RULES, HttpError, type Logger, limitBody, readJson, validateHandle } from '@matrixos/shared';
import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AccountStore } from '../accounts/accountStore.ts';
import { BRIDGE_PATH, type InstanceAccess } from '../accounts/instanceAccess.ts';
import type { IdentityStore, OidcIntent } from '../accounts/oidc/identityStore.ts';
import { OIDC_FLOW_TTL_MS } from '../accounts/oidc/identityStore.ts';
import { type OidcClient, OidcError } from '../accounts/oidc/oidcClient.ts';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { Sessions } from '../accounts/sessions.ts';
import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { PlatformMetrics } from '../metrics/platformMetrics.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { PAGE_HEADERS } from '../pages/layout.ts';
import { providerSignupPage } from '../pages/providerSignupPage.ts';
import { clientIp } from './clientIp.ts';
import { oidcSignupBody, oidcStartBody } from './contract/oidc.ts';
import { requireUser } from './meRoutes.ts';
import { parseNext } from './pageRoutes.ts';
import type { AppEnv, SessionCookies } from './sessionCookies.ts';

export interface OidcDeps {
  oidc: { client: OidcClient; identities: IdentityStore };
  accounts: AccountStore;
  sessions: Sessions;
  cookies: SessionCookies;
  access: InstanceAccess;
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  limiter: RateLimiter;
  config: Pick<PlatformConfig, 'publicUrl' | 'trustProxy'>;
  log: Logger;
  /** Counts sign-ins by method and outcome. */
  metrics?: Pick<PlatformMetrics, 'signIn'>;
}

const MINUTE = 60_000;

/** Where a refused round trip lands, by what it was for: the page shows `oidc_error`'s message. */
const RETURN_TO: Record<OidcIntent, string> = { login: '/login', signup: '/signup', link: '/dashboard' };

/**
 * Sign-in with OpenID Connect providers: start (a JSON call that answers with the provider's URL
 * and binds the round trip to this browser with a cookie), the provider's callback, the handle
 * step of a sign-up, and the identities on the dashboard. A provider identity signs in only to
 * the account it was linked to; it is linked only by a signed-in user or at sign-up, never found
 * by email.
 */
export function oidcRoutes(deps: OidcDeps) {
  const { oidc, accounts, sessions, cookies, access, orchestrator, lifecycle, limiter, config, log } = deps;
  const { client, identities } = oidc;
  const secure = config.publicUrl.protocol === 'https:';
  // Host-only, and sent back on the provider's top-level redirect (Lax): only this browser can finish.
  const FLOW_COOKIE = `${secure ? '__Host-' : ''}mx_oidc`;
  const flowCookie = { httpOnly: true, secure, sameSite: 'Lax' as const, path: '/' };
  const ip = (c: Context) => clientIp(c, config.trustProxy);

  function limit(rules: [key: string, max: number, windowMs: number][]): void {
    for (const [key, max, windowMs] of rules) {
      const r = limiter.hit(key, max, windowMs);
      if (!r.ok) {
        const seconds = Math.ceil(r.retryAfterMs / 1000);
        throw new HttpError(429, 'rate_limited', `too many attempts; try again in ${seconds} s`, undefined, {
          'Retry-After': String(seconds),
        });
      }
    }
  }

  function provider(c: Context): string {
    const id = c.req.param('provider') ?? '';
    if (!client.has(id)) throw new HttpError(404, 'unknown_provider', `there is no sign-in provider "${id}"`);
    return id;
  }

  const refuse = (c: Context, intent: OidcIntent, code: string) => {
    deleteCookie(c, FLOW_COOKIE, flowCookie);
    return c.redirect(`${RETURN_TO[intent]}?oidc_error=${code}`, 302);
  };

  /**
   * Session cookies, then the bridge into the instance (woken if asleep), as every sign-in ends;
   * or where the sign-in page was asked to go next (a page here, or another instance an admin opens).
   */
  async function signInAndOpen(c: Context, userId: string, own: string, next: string | null) {
    const tokens = await sessions.issue(userId, c.req.header('user-agent'));
    cookies.set(c, tokens);
    const { next: path, nextHandle } = parseNext(next ?? undefined);
    if (path && !nextHandle) return c.redirect(path, 302);
    const handle = nextHandle ?? own;
    if (!orchestrator.exists(handle)) {
      if (handle === own)
        orchestrator
          .provision(own)
          .catch((err) => log.error({ handle, err }, 'provision after sign-in failed'));
      return c.redirect('/dashboard', 302);
    }
    lifecycle.wake(handle).catch(() => undefined);
    const viewer = await sessions.verifyAccess(tokens.access);
    const base = new URL(instanceUrl(config, handle));
    const token = viewer ? access.issueBridge(viewer, handle, base.host) : null;
    return c.redirect(token ? `${base.origin}${BRIDGE_PATH}?token=${token}` : '/dashboard', 302);
  }

  const app = new Hono<AppEnv>();
  app.use('/me/identities', requireUser(cookies));
  app.use('/me/identities/*', requireUser(cookies));

  return app
    .get('/auth/oidc/providers', (c) => {
      limit([[`oidc-providers:${ip(c)}`, 120, MINUTE]]);
      return c.json({ providers: client.providers() });
    })

    .post('/auth/oidc/:provider/start', limitBody(1024), async (c) => {
      limit([[`oidc-start:${ip(c)}`, 20, 10 * MINUTE]]);
      const id = provider(c);
      const { intent, next } = await readJson(c, oidcStartBody);
      // Linking adds a way into an account: only its signed-in owner may start one.
      const user = intent === 'link' ? await cookies.resolve(c) : null;
      if (intent === 'link' && !user) throw new HttpError(401, 'signed_out', 'please sign in');
      let begun: Awaited<ReturnType<OidcClient['begin']>>;
      try {
        begun = await client.begin(id);
      } catch (err) {
        if (err instanceof OidcError) throw new HttpError(502, err.code, err.message);
        throw err;
      }
      const flow = identities.startFlow({
        provider: id,
        intent,
        userId: user?.userId,
        next: intent === 'login' ? parseNext(next).next : null,
        ...begun.checks,
      });
      setCookie(c, FLOW_COOKIE, flow.id, { ...flowCookie, maxAge: OIDC_FLOW_TTL_MS / 1000 });
      return c.json({ url: begun.url.href });
    })

    .get('/auth/oidc/:provider/callback', async (c) => {
      limit([[`oidc-callback:${ip(c)}`, 30, 10 * MINUTE]]);
      const id = provider(c);
      // The flow is this browser's (its cookie), taken once: a replayed callback finds nothing.
      const flow = identities.takeFlow(getCookie(c, FLOW_COOKIE), id, ['login', 'signup', 'link']);
      if (!flow) return refuse(c, 'login', 'flow_expired');
      const intent = flow.intent as OidcIntent;
      const state = c.req.query('state');
      if (!state || state !== flow.state) return refuse(c, intent, 'state_mismatch');
      // The URL the provider was told to return to, with what it sent (never the Host header).
      const callbackUrl = new URL(`${config.publicUrl.origin}${c.req.path}`);
      callbackUrl.search = new URL(c.req.url).search;
      let identity: Awaited<ReturnType<OidcClient['finish']>>;
      try {
        identity = await client.finish(id, callbackUrl, flow);
      } catch (err) {
        if (!(err instanceof OidcError)) throw err;
        if (intent === 'login') deps.metrics?.signIn('oidc', false);
        log.warn(
          { provider: id, intent, code: err.code, cause: (err.cause as Error)?.message },
          'OpenID sign-in refused',
        );
        return refuse(c, intent, err.code);
      }
      const known = identities.byIssuerSubject(identity.issuer, identity.subject);

      if (intent === 'login') {
        const user = known && accounts.userById(known.userId);
        deps.metrics?.signIn('oidc', !!user);
        if (!known || !user) return refuse(c, intent, 'no_account');
        identities.used(known.id);
        deleteCookie(c, FLOW_COOKIE, flowCookie);
        log.info({ handle: user.handle, provider: id }, 'signed in with a provider');
        return signInAndOpen(c, user.id, user.handle, flow.next);
      }
      if (intent === 'link') {
        const user = await cookies.resolve(c);
        if (!user || user.userId !== flow.userId) return refuse(c, intent, 'signed_out');
        if (!identities.link(user.userId, identity)) return refuse(c, intent, 'identity_taken');
        deleteCookie(c, FLOW_COOKIE, flowCookie);
        log.info({ handle: user.handle, provider: id }, 'linked a provider identity');
        return c.redirect(`/dashboard?oidc_linked=${id}`, 302);
      }
      // Sign-up: an identity that already has an account never makes a second one.
      if (known) return refuse(c, intent, 'identity_taken');
      const held = identities.holdSignup(identity);
      setCookie(c, FLOW_COOKIE, held.id, { ...flowCookie, maxAge: OIDC_FLOW_TTL_MS / 1000 });
      return c.redirect('/signup/provider', 302);
    })

    .get('/signup/provider', async (c) => {
      limit([[`oidc-page:${ip(c)}`, 60, MINUTE]]);
      const held = identities.peekSignup(getCookie(c, FLOW_COOKIE));
      if (!held) return c.redirect('/signup?oidc_error=flow_expired', 302);
      const hostSuffix = new URL(instanceUrl(config, 'x')).host.slice(1);
      const name = client.providers().find((p) => p.id === held.provider)?.name ?? held.provider;
      for (const [k, v] of Object.entries(PAGE_HEADERS)) c.header(k, v);
      return c.html(await providerSignupPage({ hostSuffix, provider: name, email: held.email }));
    })

    .post('/auth/oidc/signup', limitBody(1024), async (c) => {
      limit([[`oidc-signup:${ip(c)}`, 10, 10 * MINUTE]]);
      const held = identities.peekSignup(getCookie(c, FLOW_COOKIE));
      if (!held?.issuer || !held.subject)
        throw new HttpError(400, 'flow_expired', 'this sign-up has expired; start again');
      const check = validateHandle((await readJson(c, oidcSignupBody)).handle);
      if (!check.ok) throw new HttpError(400, 'invalid_handle', check.reason, { rules: HANDLE_RULES });
      const handle = check.handle;
      limit([[`signup-handle:${handle}`, 10, 10 * MINUTE]]);
      if (accounts.userByHandle(handle) || orchestrator.exists(handle))
        throw new HttpError(409, 'handle_taken', `"${handle}" is already taken`);
      const identity = {
        provider: held.provider,
        issuer: held.issuer,
        subject: held.subject,
        email: held.email,
      };
      let created: ReturnType<AccountStore['createUser']>;
      try {
        created = accounts.createUser(handle, { identity });
      } catch (err) {
        // Two tabs finishing one sign-up, or a handle taken a moment ago: the unique indexes decide.
        if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
        if (identities.byIssuerSubject(held.issuer, held.subject))
          throw new HttpError(409, 'identity_taken', 'this account is already signed up; sign in instead');
        throw new HttpError(409, 'handle_taken', `"${handle}" is already taken`);
      }
      identities.dropFlow(held.id);
      deleteCookie(c, FLOW_COOKIE, flowCookie);
      cookies.set(c, await sessions.issue(created.user.id, c.req.header('user-agent')));
      orchestrator
        .provision(handle)
        .catch((err) => log.error({ handle, err }, 'provision after sign-up failed'));
      log.info({ handle, factor: held.provider }, 'signed up');
      return c.json({ handle, recoveryCodes: created.recoveryCodes }, 201);
    })

    .get('/me/identities', (c) => {
      limit([[`oidc-identities:${c.var.user.userId}`, 120, MINUTE]]);
      return c.json({
        providers: client.providers(),
        identities: identities.identitiesOf(c.var.user.userId).map((i) => ({
          id: i.id,
          provider: i.provider,
          name: client.providers().find((p) => p.id === i.provider)?.name ?? i.provider,
          email: i.email,
          createdAt: new Date(i.createdAt).toISOString(),
          lastUsedAt: i.lastUsedAt ? new Date(i.lastUsedAt).toISOString() : null,
        })),
      });
    })
    .delete('/me/identities/:id', (c) => {
      limit([[`oidc-unlink:${c.var.user.userId}`, 20, 10 * MINUTE]]);
      const result = identities.unlink(c.var.user.userId, c.req.param('id'));
      if (result === 'not_found')
        throw new HttpError(404, 'not_found', 'no such sign-in provider on your account');
      if (result === 'last_method')
        throw new HttpError(
          409,
          'last_factor',
          'this is your only way to sign in: add a passkey or an authenticator app first',
        );
      return c.json({ removed: c.req.param('id') });
    });
}
