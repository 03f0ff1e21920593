import { HttpError, limitBody, readJson } from '@matrixos/shared';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AccountStore } from '../accounts/accountStore.ts';
import { createFailureThrottle } from '../accounts/failureThrottle.ts';
import { BRIDGE_PATH, type InstanceAccess } from '../accounts/instanceAccess.ts';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { Sessions } from '../accounts/sessions.ts';
import type { Factor } from '../accounts/signInThrottle.ts';
import { newTotpSecret, totpSetup, verifyTotp } from '../accounts/totp.ts';
import type { WebAuthn } from '../accounts/webauthn.ts';
import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { LlmUsage } from '../llm/proxyClient.ts';
import type { Orchestrator, Progress } from '../orchestrator/orchestrator.ts';
import { clientIp } from './clientIp.ts';
import { rotationLimit } from './containerRoutes.ts';
import { addPasskey, addTotp, stepUpCode, stepUpPasskey } from './contract/me.ts';
import { rateLimited } from './rateLimited.ts';
import type { AppEnv, SessionCookies } from './sessionCookies.ts';

export interface MeDeps {
  accounts: AccountStore;
  webauthn: WebAuthn;
  sessions: Sessions;
  cookies: SessionCookies;
  access: InstanceAccess;
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  config: Pick<PlatformConfig, 'publicUrl' | 'trustProxy'>;
  limiter: RateLimiter;
  llm?: LlmUsage;
  clock?: () => number;
}

/** Requires a signed-in user (cookies), and puts them in `c.var.user`. */
export function requireUser(cookies: SessionCookies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = await cookies.resolve(c);
    if (!user) throw new HttpError(401, 'signed_out', 'please sign in');
    c.set('user', user);
    await next();
  };
}

/**
 * Changing the factors themselves (adding a passkey or an authenticator app, removing one, new
 * recovery codes) needs a fresh proof of a factor in this very session: its sign-in, or a step-up
 * (`/me/step-up/*`), less than STEP_UP_TTL_MS ago. A stolen cookie, or a script riding the
 * browser's, can use the account but not take it over.
 */
export function requireFreshProof(sessions: Sessions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (sessions.freshUntil(c.var.user.familyId) === null)
      throw new HttpError(
        403,
        'step_up_required',
        'confirm it is you first: use your passkey, a code from your authenticator app, or a recovery code',
      );
    await next();
  };
}

/** The signed-in user's own account and instance. */
export function meRoutes(deps: MeDeps) {
  const { accounts, webauthn, access, orchestrator, lifecycle, config, sessions } = deps;
  const clock = deps.clock ?? Date.now;
  const throttle = createFailureThrottle(deps.limiter, clock);
  const app = new Hono<AppEnv>();
  // Sized per route (limits nest: each path gets one of these, besides the app's 64 KiB ceiling).
  app.use('/me/passkeys/*', limitBody(32 * 1024));
  app.use('/me/totp/*', limitBody(2 * 1024));
  app.use('/me/recovery-codes', limitBody(1024));
  app.use('/me/instance/*', limitBody(1024));
  app.use('/admin/instances/*', limitBody(1024));
  app.use('/me', requireUser(deps.cookies));
  app.use('/me/*', requireUser(deps.cookies));
  // Only the `open` route is a signed-in user's; the rest of /admin/instances/* is the admin API.
  app.use('/admin/instances/:handle/open', requireUser(deps.cookies));
  const fresh = requireFreshProof(sessions);
  // A step-up is a sign-in's sibling: the same small bodies, a flood guard per session, and the
  // sign-in's failure limits (it guesses the same secrets).
  app.use('/me/step-up/*', limitBody(16 * 1024), async (c, next) => {
    const r = deps.limiter.hit(`step-up:${c.var.user.familyId}`, 30, 10 * 60_000);
    if (!r.ok) throw rateLimited(r.retryAfterMs);
    await next();
  });

  const ip = (c: Context) => clientIp(c, config.trustProxy);
  function mayTry(c: Context<AppEnv>, factor: Factor): void {
    const gate = throttle.check(factor, ip(c), c.var.user.handle);
    if (!gate.ok) throw rateLimited(gate.retryAfterMs);
  }
  /** Records the outcome of a step-up attempt; a success makes this session fresh. */
  function stepUpDone(c: Context<AppEnv>, factor: Factor, ok: boolean) {
    throttle.record(factor, ip(c), c.var.user.handle, ok);
    if (!ok) return null;
    return c.json({ freshUntil: new Date(sessions.proveFactor(c.var.user.familyId)).toISOString() });
  }

  /** A URL that opens `handle`'s instance signed in, through a one-use bridge token. */
  function openUrl(c: { var: AppEnv['Variables'] }, handle: string): string {
    const base = new URL(instanceUrl(config, handle));
    const token = access.issueBridge(c.var.user, handle, base.host);
    if (!token) throw new HttpError(403, 'not_yours', `you cannot open "${handle}"`);
    return `${base.origin}${BRIDGE_PATH}?token=${token}`;
  }

  return (
    app
      .get('/me', (c) => {
        const { userId, handle, role } = c.var.user;
        const user = accounts.userById(userId);
        if (!user) throw new HttpError(401, 'signed_out', 'please sign in');
        return c.json({
          user: { handle, role, createdAt: new Date(user.createdAt).toISOString() },
          instance: orchestrator.exists(handle) ? orchestrator.get(handle) : null,
          factors: {
            passkeys: accounts.passkeysOf(userId).map((p) => ({
              id: p.id,
              name: p.name,
              createdAt: new Date(p.createdAt).toISOString(),
              lastUsedAt: p.lastUsedAt ? new Date(p.lastUsedAt).toISOString() : null,
            })),
            totp: accounts.totpOf(userId) !== null,
          },
          recoveryCodesLeft: accounts.recoveryCodesLeft(userId),
        });
      })

      /** What this account can step up with; a passkey challenge when it has passkeys. */
      .post('/me/step-up/options', async (c) => {
        const { userId, handle } = c.var.user;
        const keys = accounts.passkeysOf(userId);
        const methods = {
          passkey: keys.length > 0,
          totp: accounts.totpOf(userId) !== null,
          recovery: accounts.recoveryCodesLeft(userId) > 0,
        };
        if (!methods.passkey) return c.json({ methods });
        const options = await webauthn.authenticationOptions(keys);
        const flow = accounts.startFlow({ kind: 'step-up', handle, userId, challenge: options.challenge });
        return c.json({ methods, flowId: flow.id, options });
      })
      .post('/me/step-up/passkey', async (c) => {
        const body = await readJson(c, stepUpPasskey);
        mayTry(c, 'passkey');
        const flow = accounts.takeFlow(body.flowId, ['step-up']);
        if (!flow?.challenge || flow.userId !== c.var.user.userId)
          throw new HttpError(400, 'flow_expired', 'this has expired; start again');
        const passkey = accounts.passkey(body.response.id);
        const counter =
          passkey && passkey.userId === c.var.user.userId
            ? await webauthn.verifyAuthentication(
                body.response as unknown as AuthenticationResponseJSON,
                flow.challenge,
                passkey,
              )
            : null;
        if (passkey && counter !== null) accounts.passkeyUsed(passkey.id, counter);
        const done = stepUpDone(c, 'passkey', !!passkey && counter !== null);
        if (!done) throw new HttpError(401, 'passkey_not_verified', 'that passkey was not accepted');
        return done;
      })
      .post('/me/step-up/totp', async (c) => {
        const { code } = await readJson(c, stepUpCode);
        mayTry(c, 'totp');
        const { userId } = c.var.user;
        const factor = accounts.totpOf(userId);
        const counter = factor ? verifyTotp(factor.secret, code.trim(), factor.lastCounter, clock()) : null;
        // Each code once, here as at sign-in: a code seen over someone's shoulder is spent.
        const done = stepUpDone(c, 'totp', counter !== null && accounts.totpUsed(userId, counter));
        if (!done)
          throw new HttpError(401, 'wrong_code', 'that code was not accepted (each code works once)');
        return done;
      })
      .post('/me/step-up/recovery', async (c) => {
        const { code } = await readJson(c, stepUpCode);
        mayTry(c, 'recovery');
        const done = stepUpDone(c, 'recovery', accounts.useRecoveryCode(c.var.user.userId, code));
        if (!done) throw new HttpError(401, 'wrong_code', 'that recovery code was not accepted');
        return done;
      })

      // Starting the setup needs the fresh proof; finishing it needs the flow, which only a
      // fresh session could start (single use, this user's, 5 minutes).
      .post('/me/passkeys/options', fresh, async (c) => {
        const { userId, handle } = c.var.user;
        const options = await webauthn.registrationOptions(
          handle,
          Buffer.from(userId),
          accounts.passkeysOf(userId),
        );
        const flow = accounts.startFlow({
          kind: 'add-passkey',
          handle,
          userId,
          challenge: options.challenge,
        });
        return c.json({ flowId: flow.id, options });
      })
      .post('/me/passkeys/verify', async (c) => {
        const body = await readJson(c, addPasskey);
        const flow = accounts.takeFlow(body.flowId, ['add-passkey']);
        if (!flow?.challenge || flow.userId !== c.var.user.userId)
          throw new HttpError(400, 'flow_expired', 'this has expired; start again');
        const passkey = await webauthn.verifyRegistration(
          body.response as unknown as RegistrationResponseJSON,
          flow.challenge,
          body.name ?? 'Passkey',
        );
        if (!passkey)
          throw new HttpError(400, 'passkey_not_verified', 'the passkey could not be verified; try again');
        accounts.addPasskey(c.var.user.userId, passkey);
        return c.json({ id: passkey.id, name: passkey.name }, 201);
      })
      .delete('/me/passkeys/:id', fresh, (c) => {
        const { userId } = c.var.user;
        if (!accounts.passkeysOf(userId).some((p) => p.id === c.req.param('id')))
          throw new HttpError(404, 'not_found', 'no such passkey');
        if (!accounts.removeFactor(userId, { passkeyId: c.req.param('id') })) {
          throw new HttpError(
            409,
            'last_factor',
            'this is your only way to sign in: add another passkey or an authenticator app first',
          );
        }
        return c.json({ removed: c.req.param('id') });
      })

      .post('/me/totp/options', fresh, async (c) => {
        const { userId, handle } = c.var.user;
        const secret = newTotpSecret();
        const flow = accounts.startFlow({ kind: 'add-totp', handle, userId, totpSecret: secret });
        return c.json({ flowId: flow.id, ...(await totpSetup(secret, handle)) });
      })
      .post('/me/totp/verify', async (c) => {
        const body = await readJson(c, addTotp);
        const flow = accounts.peekFlow(body.flowId, 'add-totp');
        if (!flow?.totpSecret || flow.userId !== c.var.user.userId)
          throw new HttpError(400, 'flow_expired', 'this has expired; start again');
        const counter = verifyTotp(flow.totpSecret, body.code.trim(), -1, clock());
        if (counter === null)
          throw new HttpError(400, 'wrong_code', 'that code is not right; try the current one');
        accounts.dropFlow(flow.id);
        accounts.setTotp(c.var.user.userId, flow.totpSecret, counter);
        return c.json({ totp: true }, 201);
      })
      .delete('/me/totp', fresh, (c) => {
        const { userId } = c.var.user;
        if (!accounts.totpOf(userId)) throw new HttpError(404, 'not_found', 'no authenticator app is set up');
        if (!accounts.removeFactor(userId, { totp: true })) {
          throw new HttpError(409, 'last_factor', 'this is your only way to sign in: add a passkey first');
        }
        return c.json({ totp: false });
      })
      /** Budgets and spend of the user's AI (the dashboard's chart): the proxy's own account of it. */
      .get('/me/usage', async (c) => {
        if (!deps.llm) throw new HttpError(404, 'no_ai_proxy', 'this server runs no AI budget service');
        try {
          return c.json(await deps.llm.usageOf(c.var.user.handle));
        } catch (err) {
          throw new HttpError(
            502,
            'usage_unavailable',
            `your AI usage could not be read just now (${(err as Error).message})`,
          );
        }
      })
      .post('/me/recovery-codes', fresh, (c) =>
        c.json({ recoveryCodes: accounts.regenerateRecoveryCodes(c.var.user.userId) }, 201),
      )

      .post('/me/instance/provision', (c) => {
        const { handle } = c.var.user;
        if (!orchestrator.exists(handle)) orchestrator.provision(handle).catch(() => undefined);
        return c.json({ handle, provisioning: true }, 202);
      })
      .post('/me/instance/start', async (c) =>
        c.json({ instance: await orchestrator.start(c.var.user.handle) }),
      )
      .post('/me/instance/stop', async (c) =>
        c.json({ instance: await orchestrator.stop(c.var.user.handle) }),
      )
      .post('/me/instance/open', (c) => {
        const { handle } = c.var.user;
        if (!orchestrator.exists(handle))
          throw new HttpError(409, 'no_instance', 'your instance is not there yet');
        // Waking starts now, while the browser follows the redirect.
        lifecycle.wake(handle).catch(() => undefined);
        return c.json({ url: openUrl(c, handle) });
      })
      /** Live steps of the user's instance coming up (after sign-up, or a wake), as server-sent events. */
      .get('/me/instance/progress', (c) => {
        const { handle } = c.var.user;
        return streamSSE(c, async (stream) => {
          let finish = () => {};
          const done = new Promise<void>((resolve) => {
            finish = resolve;
          });
          const send = (p: Pick<Progress, 'step' | 'message'>) => {
            const written = stream.writeSSE({
              event: 'progress',
              data: JSON.stringify({ step: p.step, message: p.message }),
            });
            // The last event must be out before the stream closes.
            if (p.step === 'ready' || p.step === 'failed') void written.then(finish, finish);
          };
          const onProgress = (p: Progress) => {
            if (p.handle === handle) send(p);
          };
          orchestrator.events.on('progress', onProgress);
          stream.onAbort(finish);
          if (orchestrator.route(handle)?.state === 'running') send({ step: 'ready', message: 'Ready' });
          else send(orchestrator.lastProgress(handle) ?? { step: 'queued', message: 'Getting ready' });
          const keepAlive = setInterval(() => void stream.write(': waiting\n\n'), 15_000);
          await done;
          clearInterval(keepAlive);
          orchestrator.events.off('progress', onProgress);
        });
      })
      .post('/admin/instances/:handle/open', (c) => {
        if (c.var.user.role !== 'admin')
          throw new HttpError(403, 'admins_only', 'only admins can open other instances');
        const handle = c.req.param('handle');
        if (!orchestrator.exists(handle)) throw new HttpError(404, 'not_found', `no instance "${handle}"`);
        return c.json({ url: openUrl(c, handle) });
      })
      /** The owner's new instance API token, shown once; the instance restarts with it. */
      .post('/me/instance/token', async (c) => {
        const { handle } = c.var.user;
        if (!orchestrator.exists(handle))
          throw new HttpError(409, 'no_instance', 'your instance is not there yet');
        rotationLimit(deps.limiter, `rotate:${handle}`);
        return c.json(await orchestrator.rotateToken(handle), 201);
      })
  );
}
