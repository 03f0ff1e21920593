import { z } from 'zod';
import { credentialJson } from '../../accounts/webauthn.ts';
import {
  badBody,
  failure,
  json,
  jsonBody,
  type OpenAPIRegistry,
  type Responses,
  rateLimited,
} from './common.ts';

// Request bodies: `authRoutes.ts` validates with exactly these.
export const signupStart = z.object({
  handle: z.string(),
  /** A one-time admin invite (`matrixos admin-invite`): the new account is an admin. */
  invite: z.string().max(200).optional(),
});
export const passkeyVerify = z.object({ flowId: z.string(), response: credentialJson });
export const totpVerify = z.object({ flowId: z.string(), code: z.string() });
export const loginStart = z.object({ handle: z.string() });
export const loginTotp = z.object({ handle: z.string(), code: z.string() });
export const loginRecovery = z.object({ handle: z.string(), code: z.string() });

const webauthnOptions = z.record(z.string(), z.unknown()).meta({
  description: 'WebAuthn options for `navigator.credentials` (SimpleWebAuthn JSON)',
});
export const passkeyOptionsReply = z.object({ flowId: z.string(), options: webauthnOptions });
export const totpOptionsReply = z.object({
  flowId: z.string(),
  secret: z.string(),
  uri: z.string(),
  qrSvg: z.string(),
});
export const signedUpReply = z.object({ handle: z.string(), recoveryCodes: z.array(z.string()) });
export const signedInReply = z.object({ handle: z.string() }).loose();
export const signedOutReply = z.object({ signedOut: z.literal(true) });
export const loginOptionsReply = z.object({
  methods: z.object({ passkey: z.boolean(), totp: z.boolean() }),
  flowId: z.string().optional(),
  options: webauthnOptions.optional(),
});
export const availabilityReply = z.object({
  handle: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
});

const origin = { 403: failure("`Origin` missing or not the control plane's (`bad_origin`)") };
const handleRefused = {
  400: failure('not a valid handle (`invalid_handle`, with `rules`), or a bad body'),
  409: failure('the handle is taken (`handle_taken`)'),
};

/** Sign-up and sign-in (`authRoutes.ts`): passkeys, TOTP, recovery codes, sessions. */
export function registerAuth(registry: OpenAPIRegistry): void {
  const tags = ['accounts'];
  const post = (path: string, summary: string, body: z.ZodType | null, responses: Responses) =>
    registry.registerPath({
      method: 'post',
      path,
      tags,
      summary,
      ...(body ? { request: { body: jsonBody(body) } } : {}),
      responses: { ...(body ? badBody : {}), ...origin, ...rateLimited, ...responses },
    });

  registry.registerPath({
    method: 'get',
    path: '/auth/handles/{handle}',
    tags,
    summary: 'whether a handle can be had, as the user types it',
    request: { params: z.object({ handle: z.string() }) },
    responses: { 200: json('the answer', availabilityReply), ...rateLimited },
  });
  post('/auth/signup/passkey/options', 'start a passkey sign-up', signupStart, {
    200: json('a flow and the WebAuthn creation options', passkeyOptionsReply),
    ...handleRefused,
  });
  post(
    '/auth/signup/passkey/verify',
    'finish a passkey sign-up: signs in, starts the instance',
    passkeyVerify,
    {
      201: json('the account; recovery codes are shown only here', signedUpReply),
      ...handleRefused,
      400: failure('expired flow (`flow_expired`), a passkey that did not verify, or a bad body'),
    },
  );
  post('/auth/signup/totp/options', 'start an authenticator-app sign-up', signupStart, {
    200: json('a flow, the secret and its QR code', totpOptionsReply),
    ...handleRefused,
  });
  post(
    '/auth/signup/totp/verify',
    'finish it with the first code: signs in, starts the instance',
    totpVerify,
    {
      201: json('the account; recovery codes are shown only here', signedUpReply),
      ...handleRefused,
      400: failure('expired flow (`flow_expired`), a wrong code (`wrong_code`), or a bad body'),
    },
  );
  post('/auth/login/options', 'which factors an account has, and passkey options', loginStart, {
    200: json('the factors (and a passkey flow when it has passkeys)', loginOptionsReply),
    404: failure('no such account (`no_account`)'),
  });
  post('/auth/login/passkey', 'sign in with a passkey', passkeyVerify, {
    200: json('signed in (session cookies set)', signedInReply),
    400: failure('expired flow (`flow_expired`) or a bad body'),
    401: failure('the passkey was not accepted'),
  });
  post('/auth/login/totp', 'sign in with an authenticator code (each works once)', loginTotp, {
    200: json('signed in (session cookies set)', signedInReply),
    401: failure('the code was not accepted (`wrong_code`)'),
  });
  post('/auth/login/recovery', 'sign in with a recovery code (each works once)', loginRecovery, {
    200: json(
      'signed in; how many codes are left',
      signedInReply.extend({ recoveryCodesLeft: z.number().int() }),
    ),
    401: failure('the code was not accepted (`wrong_code`)'),
  });
  post('/auth/refresh', 'keep the session alive (rotates the refresh token)', null, {
    200: json('still signed in', signedInReply),
    401: failure('signed out (`signed_out`)'),
  });
  post('/auth/logout', 'sign out this browser', null, { 200: json('signed out', signedOutReply) });
  post('/auth/logout-all', 'sign out everywhere (every session of the account)', null, {
    200: json('signed out', signedOutReply),
    401: failure('signed out already (`signed_out`)'),
  });
}
