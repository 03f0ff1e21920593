import { z } from 'zod';
import { signedUpReply } from './auth.ts';
import {
  badBody,
  failure,
  json,
  jsonBody,
  type OpenAPIRegistry,
  rateLimited,
  routeTable,
  type Security,
} from './common.ts';

// Request bodies: `oidcRoutes.ts` validates with exactly these.
export const oidcStartBody = z.object({
  intent: z.enum(['login', 'signup', 'link']),
  next: z
    .string()
    .max(200)
    .optional()
    .meta({ description: "the sign-in page's `?next=`: kept only if it is a handle or a path of this site" }),
});
export const oidcSignupBody = z.object({ handle: z.string().max(64) });

const providerView = z.object({ id: z.string(), name: z.string() });
export const providersReply = z.object({ providers: z.array(providerView) });
export const oidcStartReply = z.object({
  url: z.string().meta({ description: "the provider's authorization URL: send the browser there" }),
});
export const identitiesReply = z.object({
  providers: z.array(providerView),
  identities: z.array(
    z.object({
      id: z.string(),
      provider: z.string(),
      name: z.string(),
      email: z.string().nullable(),
      createdAt: z.iso.datetime(),
      lastUsedAt: z.iso.datetime().nullable(),
    }),
  ),
});

const origin = { 403: failure("`Origin` missing or not the control plane's (`bad_origin`)") };
const unknownProvider = { 404: failure('no such sign-in provider (`unknown_provider`)') };
const providerParam = z.object({ provider: z.string() });
const redirect = (description: string) => ({
  description,
  headers: z.object({ location: z.string() }),
});

/** Sign-in with OpenID Connect providers (`oidcRoutes.ts`). */
export function registerOidc(registry: OpenAPIRegistry): void {
  const route = routeTable(registry, {
    tags: ['oidc'],
    common: (method) => ({ ...(method === 'get' ? {} : origin), ...rateLimited }),
  });

  route('get', '/auth/oidc/providers', 'the sign-in providers this server offers', {
    200: json('the providers (none when OpenID sign-in is off)', providersReply),
  });
  route(
    'post',
    '/auth/oidc/{provider}/start',
    'start a provider round trip (binds it to this browser with a cookie); `link` needs a session',
    {
      200: json("the provider's URL", oidcStartReply),
      ...badBody,
      401: failure('`link` without a session (`signed_out`)'),
      ...unknownProvider,
      502: failure('the provider could not be reached or its discovery failed'),
    },
    { params: providerParam, body: jsonBody(oidcStartBody) },
  );
  route(
    'get',
    '/auth/oidc/{provider}/callback',
    "the provider's redirect back: signs in, links, or holds a sign-up for its handle step",
    {
      302: redirect(
        'to the instance (signed in), `/signup/provider` (sign-up), `/dashboard?oidc_linked=<provider>` (link), or back to the page it came from with `?oidc_error=<code>`',
      ),
      ...unknownProvider,
    },
    {
      params: providerParam,
      query: z.object({ state: z.string().optional(), code: z.string().optional() }).loose(),
    },
  );
  registry.registerPath({
    method: 'get',
    path: '/signup/provider',
    tags: ['pages'],
    summary: 'the handle step of a sign-up with a provider (HTML)',
    responses: {
      200: { description: 'the page', content: { 'text/html': { schema: z.string() } } },
      302: redirect('no sign-up is held for this browser: to `/signup?oidc_error=flow_expired`'),
      ...rateLimited,
    },
  });
  route(
    'post',
    '/auth/oidc/signup',
    'finish a sign-up with a provider: choose the handle (signs in, provisions)',
    {
      201: json('signed up; the recovery codes are shown only here', signedUpReply),
      ...badBody,
      400: failure(
        'no sign-up held for this browser (`flow_expired`), a bad handle (`invalid_handle`, with `rules`), or a bad body',
      ),
      409: failure(
        'the handle is taken (`handle_taken`), or the identity already has an account (`identity_taken`)',
      ),
    },
    { body: jsonBody(oidcSignupBody) },
  );
  const session: Security = [{ session: [] }];
  const signedOut = { 401: failure('not signed in (`signed_out`)') };
  route(
    'get',
    '/me/identities',
    'the provider identities linked to this account',
    { 200: json('the providers offered and those linked', identitiesReply), ...signedOut },
    {},
    session,
  );
  route(
    'delete',
    '/me/identities/{id}',
    'unlink a provider identity',
    {
      200: json('removed', z.object({ removed: z.string() })),
      ...signedOut,
      404: failure('no such identity on this account (`not_found`)'),
      409: failure('it is the only way to sign in (`last_factor`)'),
    },
    { params: z.object({ id: z.string() }) },
    session,
  );
}
