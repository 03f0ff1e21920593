import { z } from 'zod';
import { credentialJson } from '../../accounts/webauthn.ts';
import { passkeyOptionsReply, totpOptionsReply } from './auth.ts';
import {
  badBody,
  failure,
  handleParam,
  instanceReply,
  instanceView,
  json,
  jsonBody,
  type OpenAPIRegistry,
  rateLimited,
  rotatedReply,
  routeTable,
  type Security,
} from './common.ts';

// Request bodies: `meRoutes.ts` validates with exactly these.
export const addPasskey = z.object({
  flowId: z.string(),
  response: credentialJson,
  name: z.string().trim().min(1).max(60).optional(),
});
export const addTotp = z.object({ flowId: z.string(), code: z.string() });
/** A fresh proof of a factor (step-up) before the factors themselves change. */
export const stepUpPasskey = z.object({ flowId: z.string(), response: credentialJson });
export const stepUpCode = z.object({ code: z.string().max(100) });

export const meReply = z.object({
  user: z.object({ handle: z.string(), role: z.enum(['user', 'admin']), createdAt: z.iso.datetime() }),
  instance: instanceView.nullable(),
  factors: z.object({
    passkeys: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        createdAt: z.iso.datetime(),
        lastUsedAt: z.iso.datetime().nullable(),
      }),
    ),
    totp: z.boolean(),
  }),
  recoveryCodesLeft: z.number().int(),
});
/** A step-up's answer: this session may change its factors until then. */
export const freshReply = z.object({ freshUntil: z.iso.datetime() });
export const stepUpOptionsReply = z.object({
  methods: z.object({ passkey: z.boolean(), totp: z.boolean(), recovery: z.boolean() }),
  flowId: z.string().optional(),
  options: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: 'WebAuthn request options (when the account has passkeys)' }),
});
export const openReply = z.object({
  url: z
    .string()
    .meta({ description: 'a one-use link (30 s) that signs the browser in on the instance host' }),
});

/** The owner's own Matrix account (`matrixLoginRoute.ts`), for Element or another client. */
export const matrixAccountReply = z.object({
  userId: z.string().meta({ description: 'the Matrix id, `@{handle}:{server}`' }),
  homeserverUrl: z.string().meta({ description: "the homeserver URL for the user's Matrix client" }),
});
export const matrixPasswordReply = matrixAccountReply.extend({
  password: z.string().meta({ description: 'the new password, shown only here' }),
});

const signedOut = { 401: failure('not signed in (`signed_out`)') };
const origin = { 403: failure("`Origin` missing or not the control plane's (`bad_origin`)") };
/** Routes behind `requireFreshProof`: a sign-in or a step-up in this session, minutes ago. */
const stepUp = {
  403: failure(
    'no fresh proof of a factor in this session (`step_up_required`: step up at `/me/step-up/*`), or `bad_origin`',
  ),
};

/** Tag of the routes that answer with a stream that ends when something happens, not at once. */
export const EVENT_STREAM = 'event-stream';

/** The signed-in user's own account and instance (`meRoutes.ts`); session cookies. */
export function registerMe(registry: OpenAPIRegistry): void {
  const tags = ['me'];
  const security: Security = [{ session: [] }];
  const route = routeTable(registry, {
    tags,
    security,
    common: (method) => ({ ...signedOut, ...(method === 'get' ? {} : origin) }),
  });

  route('get', '/me', 'the account, its factors, its instance', { 200: json('the account', meReply) });
  route('post', '/me/passkeys/options', 'start adding a passkey', {
    200: json('a flow and the WebAuthn creation options', passkeyOptionsReply),
    ...stepUp,
  });
  route(
    'post',
    '/me/passkeys/verify',
    'finish adding a passkey',
    {
      201: json('added', z.object({ id: z.string(), name: z.string() })),
      ...badBody,
      400: failure('expired flow (`flow_expired`), a passkey that did not verify, or a bad body'),
    },
    { body: jsonBody(addPasskey) },
  );
  route(
    'delete',
    '/me/passkeys/{id}',
    'remove a passkey',
    {
      200: json('removed', z.object({ removed: z.string() })),
      ...stepUp,
      404: failure('no such passkey'),
      409: failure('it is the only way to sign in (`last_factor`)'),
    },
    { params: z.object({ id: z.string() }) },
  );
  route('post', '/me/totp/options', 'start setting up an authenticator app', {
    200: json('a flow, the secret and its QR code', totpOptionsReply),
    ...stepUp,
  });
  route(
    'post',
    '/me/totp/verify',
    'confirm the authenticator app with its first code',
    {
      201: json('set up', z.object({ totp: z.literal(true) })),
      ...badBody,
      400: failure('expired flow (`flow_expired`), a wrong code (`wrong_code`), or a bad body'),
    },
    { body: jsonBody(addTotp) },
  );
  route('delete', '/me/totp', 'remove the authenticator app', {
    200: json('removed', z.object({ totp: z.literal(false) })),
    ...stepUp,
    404: failure('none is set up'),
    409: failure('it is the only way to sign in (`last_factor`)'),
  });
  route('get', '/me/usage', "the AI's budgets and spend (the LLM proxy's report)", {
    200: json('budgets, spend, the last 30 days', z.record(z.string(), z.unknown())),
    404: failure('no LLM proxy runs here (`no_ai_proxy`)'),
    502: failure('the proxy did not answer (`usage_unavailable`)'),
  });
  route('post', '/me/recovery-codes', 'new recovery codes (the old ones stop working)', {
    201: json('shown only here', z.object({ recoveryCodes: z.array(z.string()) })),
    ...stepUp,
  });
  const matrixOff = {
    404: failure('this server runs no Matrix homeserver (`matrix_off`)'),
    409: failure('the Matrix account is not registered yet (`matrix_not_ready`)'),
  };
  route('get', '/me/matrix', "the owner's own Matrix id and the homeserver URL for their client", {
    200: json('the account', matrixAccountReply),
    ...matrixOff,
  });
  route(
    'post',
    '/me/matrix/password',
    "a new random password for the owner's Matrix account, shown once (other Matrix devices are signed out)",
    {
      201: json('the id, the homeserver URL and the new password', matrixPasswordReply),
      ...stepUp,
      ...matrixOff,
      ...rateLimited,
      413: failure('the body is larger than this route accepts (`body_too_large`)'),
      502: failure('the homeserver did not take it; the old password still works (`homeserver_failed`)'),
    },
  );
  route('post', '/me/instance/provision', "provision the user's instance if it is not there", {
    202: json('on its way', z.object({ handle: z.string(), provisioning: z.literal(true) })),
  });
  for (const verb of ['start', 'stop'] as const) {
    route('post', `/me/instance/${verb}`, `${verb} the user's instance`, {
      200: json('its state now', instanceReply),
      404: failure('there is no instance yet'),
      503: failure(`the engine could not ${verb} it (\`${verb}_failed\`)`),
    });
  }
  route('post', '/me/instance/open', 'a one-use link into the instance (wakes it)', {
    200: json('the link', openReply),
    409: failure('the instance is not there yet (`no_instance`)'),
  });
  registry.registerPath({
    method: 'get',
    path: '/me/instance/progress',
    // An open-ended stream: described, not fuzzed (a request waits for a `ready` that may not come).
    tags: [...tags, EVENT_STREAM],
    summary: 'live steps of the instance coming up, as server-sent `progress` events',
    security,
    responses: {
      ...signedOut,
      200: {
        description: '`event: progress`, `data: {"step", "message"}` until `ready` or `failed`',
        content: { 'text/event-stream': { schema: z.string() } },
      },
    },
  });
  route(
    'post',
    '/me/instance/token',
    "a new API token for the user's instance, shown once (it restarts with it)",
    {
      201: json('the new token; the old one is refused from now on', rotatedReply),
      409: failure('there is no instance yet (`no_instance`), or it is still `provisioning`'),
      429: failure('too many rotations (`rate_limited`, with `Retry-After`)'),
      503: failure('the engine could not replace the instance (`rotate_failed`)'),
    },
  );
  // Step-up: a fresh proof of a factor before the factors themselves change (docs/accounts.md).
  const stepUpLimits = {
    ...rateLimited,
    413: failure('the body is larger than this route accepts (`body_too_large`)'),
  };
  route('post', '/me/step-up/options', 'what this account can step up with (a passkey challenge if any)', {
    200: json('the methods; a flow and WebAuthn options when it has passkeys', stepUpOptionsReply),
    ...stepUpLimits,
  });
  route(
    'post',
    '/me/step-up/passkey',
    'step up with a passkey (the flow from `/me/step-up/options`)',
    {
      200: json('this session is fresh until', freshReply),
      ...badBody,
      400: failure('expired flow (`flow_expired`) or a bad body'),
      401: failure('not signed in (`signed_out`), or the passkey was not accepted (`passkey_not_verified`)'),
      ...stepUpLimits,
    },
    { body: jsonBody(stepUpPasskey) },
  );
  for (const [factor, what] of [
    ['totp', 'a code from the authenticator app (each code once)'],
    ['recovery', 'a recovery code (spent by it)'],
  ] as const) {
    route(
      'post',
      `/me/step-up/${factor}`,
      `step up with ${what}`,
      {
        200: json('this session is fresh until', freshReply),
        ...badBody,
        401: failure('not signed in (`signed_out`), or the code was not accepted (`wrong_code`)'),
        ...stepUpLimits,
      },
      { body: jsonBody(stepUpCode) },
    );
  }
  route(
    'post',
    '/admin/instances/{handle}/open',
    "(an admin's session) a one-use link into any instance",
    {
      200: json('the link', openReply),
      403: failure('not an admin (`admins_only`), or `bad_origin`'),
      404: failure('no such instance'),
    },
    { params: handleParam },
  );
}
