import { randomUUID } from 'node:crypto';
import { HANDLE_RULES, HttpError, type Logger, limitBody, readJson, validateHandle } from '@matrixos/shared';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { type Context, Hono } from 'hono';
import type { AccountStore } from '../accounts/accountStore.ts';
import { InviteSpentError } from '../accounts/adminInvites.ts';
import { createFailureThrottle } from '../accounts/failureThrottle.ts';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { Sessions } from '../accounts/sessions.ts';
import type { Factor } from '../accounts/signInThrottle.ts';
import { newTotpSecret, totpSetup, verifyTotp } from '../accounts/totp.ts';
import type { WebAuthn } from '../accounts/webauthn.ts';
import type { PlatformMetrics } from '../metrics/platformMetrics.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { clientIp } from './clientIp.ts';
import {
  loginRecovery,
  loginStart,
  loginTotp,
  passkeyVerify,
  signupStart,
  totpVerify,
} from './contract/auth.ts';
import { rateLimited } from './rateLimited.ts';
import type { SessionCookies } from './sessionCookies.ts';

export interface AuthDeps {
  accounts: AccountStore;
  webauthn: WebAuthn;
  sessions: Sessions;
  cookies: SessionCookies;
  orchestrator: Orchestrator;
  limiter: RateLimiter;
  trustProxy: boolean;
  log: Logger;
  clock?: () => number;
  /** Counts sign-ins by method and outcome. */
  metrics?: Pick<PlatformMetrics, 'signIn'>;
}

const MINUTE = 60_000;

/** Sign-up and sign-in: passkeys first, TOTP as the fallback, recovery codes for a lost device. */
export function authRoutes(deps: AuthDeps) {
  const { accounts, webauthn, sessions, cookies, orchestrator, limiter, log } = deps;
  const clock = deps.clock ?? Date.now;
  const throttle = createFailureThrottle(limiter, clock);

  /**
   * Counts an attempt against each key; the first exhausted one refuses with 429. Only for keys
   * a client spends by itself (its address, its own flow): shared keys count failures instead.
   */
  function limit(rules: [key: string, max: number, windowMs: number][]): void {
    for (const [key, max, windowMs] of rules) {
      const r = limiter.hit(key, max, windowMs);
      if (!r.ok) throw rateLimited(r.retryAfterMs);
    }
  }

  /** Refuses (429) while this client's failures, or a guessable factor's failures on the handle, say wait. */
  function mayTry(c: Context, factor: Factor, handle: string): void {
    const gate = throttle.check(factor, ip(c), handle);
    if (!gate.ok) throw rateLimited(gate.retryAfterMs);
  }

  function availability(
    handle: unknown,
  ): { ok: true; handle: string } | { ok: false; status: 400 | 409; code: string; reason: string } {
    const check = validateHandle(handle);
    if (!check.ok) return { ok: false, status: 400, code: 'invalid_handle', reason: check.reason };
    if (accounts.userByHandle(check.handle) || orchestrator.exists(check.handle)) {
      return { ok: false, status: 409, code: 'handle_taken', reason: `"${check.handle}" is already taken` };
    }
    // Freed by a deletion that kept the data: still taken, until an admin deletes that data.
    const reserved = orchestrator.reserved(check.handle);
    if (reserved) {
      return {
        ok: false,
        status: 409,
        code: 'handle_taken',
        reason: `"${check.handle}" is taken: ${reserved}`,
      };
    }
    return { ok: true, handle: check.handle };
  }

  function mustBeAvailable(handle: unknown): string {
    const a = availability(handle);
    if (!a.ok)
      throw new HttpError(
        a.status,
        a.code,
        a.reason,
        a.code === 'invalid_handle' ? { rules: HANDLE_RULES } : undefined,
      );
    return a.handle;
  }

  /** Signed in: the session cookies, and the user's instance on its way if it is not there yet. */
  async function signIn(c: Context, userId: string, handle: string): Promise<void> {
    cookies.set(c, await sessions.issue(userId, c.req.header('user-agent')));
    if (!orchestrator.exists(handle)) {
      orchestrator
        .provision(handle)
        .catch((err) => log.error({ handle, err }, 'provision after sign-up failed'));
    }
  }

  const ip = (c: Context) => clientIp(c, deps.trustProxy);

  const inviteRefused = () =>
    new HttpError(
      400,
      'invite_invalid',
      'this admin invite link is not valid: it was used, it expired, or it is mistyped',
    );

  /** An admin invite given with a sign-up start: its hash if it can be used, else 400 before anything starts. */
  function inviteOf(invite: string | undefined): string | null {
    if (invite === undefined) return null;
    const hash = accounts.invites.usable(invite);
    if (!hash) throw inviteRefused();
    return hash;
  }

  /** Creates the account, mapping an invite spent meanwhile to the same 400 (nothing was created). */
  function createUser(...args: Parameters<AccountStore['createUser']>) {
    try {
      return accounts.createUser(...args);
    } catch (err) {
      if (err instanceof InviteSpentError) throw inviteRefused();
      throw err;
    }
  }

  // Sized for what each step takes: a handle and a code are tiny, a WebAuthn response is not.
  // (Limits nest: each path gets exactly one of these, besides the app's 64 KiB ceiling.)
  const limited = new Hono()
    .use('/auth/signup/passkey/*', limitBody(32 * 1024))
    .use('/auth/signup/totp/*', limitBody(2 * 1024))
    .use('/auth/login/passkey', limitBody(16 * 1024))
    .use('/auth/login/options', limitBody(1024))
    .use('/auth/login/totp', limitBody(1024))
    .use('/auth/login/recovery', limitBody(1024))
    .use('/auth/refresh', limitBody(1024))
    .use('/auth/logout', limitBody(1024))
    .use('/auth/logout-all', limitBody(1024));

  return limited
    .get('/auth/handles/:handle', (c) => {
      limit([[`avail:${ip(c)}`, 120, MINUTE]]);
      const a = availability(c.req.param('handle'));
      return c.json(
        a.ok
          ? { handle: a.handle, available: true }
          : { handle: c.req.param('handle'), available: false, reason: a.reason },
      );
    })

    .post('/auth/signup/passkey/options', async (c) => {
      limit([[`signup:${ip(c)}`, 10, 10 * MINUTE]]);
      const start = await readJson(c, signupStart);
      const handle = mustBeAvailable(start.handle);
      limit([[`signup-handle:${handle}`, 10, 10 * MINUTE]]);
      const inviteHash = inviteOf(start.invite);
      const userId = randomUUID();
      const options = await webauthn.registrationOptions(handle, Buffer.from(userId));
      const flow = accounts.startFlow({
        kind: 'signup-passkey',
        handle,
        userId,
        challenge: options.challenge,
        inviteHash,
      });
      return c.json({ flowId: flow.id, options });
    })
    .post('/auth/signup/passkey/verify', async (c) => {
      limit([[`signup-verify:${ip(c)}`, 20, 10 * MINUTE]]);
      const body = await readJson(c, passkeyVerify);
      const flow = accounts.takeFlow(body.flowId, ['signup-passkey']);
      if (!flow?.challenge || !flow.userId)
        throw new HttpError(400, 'flow_expired', 'this sign-up has expired; start again');
      const passkey = await webauthn.verifyRegistration(
        body.response as unknown as RegistrationResponseJSON,
        flow.challenge,
        'Passkey',
      );
      if (!passkey)
        throw new HttpError(400, 'passkey_not_verified', 'the passkey could not be verified; try again');
      const handle = mustBeAvailable(flow.handle);
      const { user, recoveryCodes } = createUser(handle, { passkey }, flow.userId, flow.inviteHash);
      await signIn(c, user.id, handle);
      log.info({ handle, factor: 'passkey', role: user.role }, 'signed up');
      return c.json({ handle, recoveryCodes }, 201);
    })

    .post('/auth/signup/totp/options', async (c) => {
      limit([[`signup:${ip(c)}`, 10, 10 * MINUTE]]);
      const start = await readJson(c, signupStart);
      const handle = mustBeAvailable(start.handle);
      limit([[`signup-handle:${handle}`, 10, 10 * MINUTE]]);
      const inviteHash = inviteOf(start.invite);
      const secret = newTotpSecret();
      const flow = accounts.startFlow({ kind: 'signup-totp', handle, totpSecret: secret, inviteHash });
      return c.json({ flowId: flow.id, ...(await totpSetup(secret, handle)) });
    })
    .post('/auth/signup/totp/verify', async (c) => {
      const body = await readJson(c, totpVerify);
      limit([
        [`signup-verify:${ip(c)}`, 20, 10 * MINUTE],
        [`signup-totp:${body.flowId}`, 5, 10 * MINUTE],
      ]);
      const flow = accounts.peekFlow(body.flowId, 'signup-totp');
      if (!flow?.totpSecret)
        throw new HttpError(400, 'flow_expired', 'this sign-up has expired; start again');
      const counter = verifyTotp(flow.totpSecret, body.code.trim(), -1, clock());
      if (counter === null)
        throw new HttpError(
          400,
          'wrong_code',
          'that code is not right; check the time on your phone and try the current code',
        );
      if (!accounts.takeFlow(body.flowId, ['signup-totp']))
        throw new HttpError(400, 'flow_expired', 'this sign-up has expired; start again');
      const handle = mustBeAvailable(flow.handle);
      const { user, recoveryCodes } = createUser(
        handle,
        { totpSecret: flow.totpSecret, counter },
        undefined,
        flow.inviteHash,
      );
      await signIn(c, user.id, handle);
      log.info({ handle, factor: 'totp', role: user.role }, 'signed up');
      return c.json({ handle, recoveryCodes }, 201);
    })

    .post('/auth/login/options', async (c) => {
      // Per client only: starting a sign-in costs a flow row and spends nobody else's attempts,
      // so strangers calling it for a handle cannot block its owner's passkey.
      limit([[`login:${ip(c)}`, 30, 10 * MINUTE]]);
      const { handle } = await readJson(c, loginStart);
      const user = accounts.userByHandle(handle);
      if (!user) throw new HttpError(404, 'no_account', `there is no account "${handle}"`);
      const keys = accounts.passkeysOf(user.id);
      const methods = { passkey: keys.length > 0, totp: accounts.totpOf(user.id) !== null };
      if (!methods.passkey) return c.json({ methods });
      const options = await webauthn.authenticationOptions(keys);
      const flow = accounts.startFlow({
        kind: 'login',
        handle,
        userId: user.id,
        challenge: options.challenge,
      });
      return c.json({ methods, flowId: flow.id, options });
    })
    .post('/auth/login/passkey', async (c) => {
      limit([[`login-verify:${ip(c)}`, 30, 10 * MINUTE]]);
      const body = await readJson(c, passkeyVerify);
      const pending = accounts.peekFlow(body.flowId, 'login');
      if (pending) mayTry(c, 'passkey', pending.handle);
      const flow = accounts.takeFlow(body.flowId, ['login']);
      if (!flow?.challenge || !flow.userId)
        throw new HttpError(400, 'flow_expired', 'this sign-in has expired; start again');
      const passkey = accounts.passkey(body.response.id);
      const counter =
        passkey && passkey.userId === flow.userId
          ? await webauthn.verifyAuthentication(
              body.response as unknown as AuthenticationResponseJSON,
              flow.challenge,
              passkey,
            )
          : null;
      throttle.record('passkey', ip(c), flow.handle, !!passkey && counter !== null);
      deps.metrics?.signIn('passkey', !!passkey && counter !== null);
      if (!passkey || counter === null)
        throw new HttpError(401, 'passkey_not_verified', 'that passkey was not accepted');
      accounts.passkeyUsed(passkey.id, counter);
      await signIn(c, flow.userId, flow.handle);
      return c.json({ handle: flow.handle });
    })
    .post('/auth/login/totp', async (c) => {
      limit([[`login-verify:${ip(c)}`, 30, 10 * MINUTE]]);
      const { handle, code } = await readJson(c, loginTotp);
      mayTry(c, 'totp', handle);
      const user = accounts.userByHandle(handle);
      const factor = user ? accounts.totpOf(user.id) : null;
      const counter = factor ? verifyTotp(factor.secret, code.trim(), factor.lastCounter, clock()) : null;
      // The step is recorded atomically: the same code sent twice at once signs in once.
      const ok = !!user && counter !== null && accounts.totpUsed(user.id, counter);
      throttle.record('totp', ip(c), handle, ok);
      deps.metrics?.signIn('totp', ok);
      if (!ok || !user)
        throw new HttpError(401, 'wrong_code', 'that code was not accepted (each code works once)');
      await signIn(c, user.id, handle);
      return c.json({ handle });
    })
    .post('/auth/login/recovery', async (c) => {
      limit([[`login-verify:${ip(c)}`, 30, 10 * MINUTE]]);
      const { handle, code } = await readJson(c, loginRecovery);
      mayTry(c, 'recovery', handle);
      const user = accounts.userByHandle(handle);
      const ok = !!user && accounts.useRecoveryCode(user.id, code);
      throttle.record('recovery', ip(c), handle, ok);
      deps.metrics?.signIn('recovery', ok);
      if (!ok || !user) throw new HttpError(401, 'wrong_code', 'that recovery code was not accepted');
      await signIn(c, user.id, handle);
      log.warn({ handle }, 'signed in with a recovery code');
      return c.json({ handle, recoveryCodesLeft: accounts.recoveryCodesLeft(user.id) });
    })

    .post('/auth/refresh', async (c) => {
      const user = await cookies.resolve(c);
      if (!user) throw new HttpError(401, 'signed_out', 'please sign in again');
      return c.json({ handle: user.handle });
    })
    .post('/auth/logout', async (c) => {
      const user = await cookies.resolve(c);
      if (user) sessions.revokeFamily(user.familyId, 'signed out');
      cookies.clear(c);
      return c.json({ signedOut: true });
    })
    .post('/auth/logout-all', async (c) => {
      const user = await cookies.resolve(c);
      if (!user) throw new HttpError(401, 'signed_out', 'please sign in again');
      sessions.revokeAllOf(user.userId, 'signed out everywhere');
      cookies.clear(c);
      return c.json({ signedOut: true });
    });
}
