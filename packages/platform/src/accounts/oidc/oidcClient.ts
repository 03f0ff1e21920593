import * as oidc from 'openid-client';
import type { VerifiedIdentity } from './identityStore.ts';
import type { ProviderSpec } from './providerSpecs.ts';

/** Why a provider round trip did not prove an identity (mapped to a page message at the edge). */
export class OidcError extends Error {
  override name = 'OidcError';
  readonly code: 'unknown_provider' | 'provider_unavailable' | 'provider_refused' | 'not_verified';
  constructor(code: OidcError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface OidcChecks {
  state: string;
  nonce: string;
  verifier: string;
}

/**
 * Plain http is accepted only from an issuer on this machine (a provider in tests, or one run
 * beside the platform); everything else must be https, as openid-client insists by default.
 */
function isLoopback(issuer: URL): boolean {
  return issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
}

/**
 * The relying party's side of OpenID Connect, through openid-client: authorization code with
 * PKCE, `state` and `nonce`; the ID token's issuer, audience, expiry, nonce and signature (the
 * provider's JWKS, "non-repudiation checks") are verified before an identity comes out.
 */
export function createOidcClient(deps: { providers: ProviderSpec[]; redirectUri: (id: string) => string }) {
  const specs = new Map(deps.providers.map((p) => [p.id, p]));
  // Discovery once per provider; a failure is not remembered, so the next attempt retries.
  const configs = new Map<string, Promise<oidc.Configuration>>();

  function spec(id: string): ProviderSpec {
    const s = specs.get(id);
    if (!s) throw new OidcError('unknown_provider', `there is no sign-in provider "${id}"`);
    return s;
  }

  function configOf(id: string): Promise<oidc.Configuration> {
    const s = spec(id);
    let config = configs.get(id);
    if (!config) {
      const issuer = new URL(s.issuer);
      config = oidc
        .discovery(
          issuer,
          s.clientId,
          { redirect_uris: [deps.redirectUri(id)] },
          oidc.ClientSecretPost(s.clientSecret),
          {
            execute: isLoopback(issuer) ? [oidc.allowInsecureRequests] : [],
            timeout: 10,
          },
        )
        .then((c) => {
          oidc.enableNonRepudiationChecks(c);
          return c;
        });
      configs.set(id, config);
      config.catch(() => configs.delete(id));
    }
    return config.catch((err) => {
      throw new OidcError('provider_unavailable', `${s.name} cannot be reached just now`, { cause: err });
    });
  }

  return {
    providers: (): { id: string; name: string }[] => deps.providers.map(({ id, name }) => ({ id, name })),
    has: (id: string) => specs.has(id),

    /** Where to send the browser, and the checks its return must pass (kept server-side). */
    async begin(id: string): Promise<{ url: URL; checks: OidcChecks }> {
      const config = await configOf(id);
      const checks = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        verifier: oidc.randomPKCECodeVerifier(),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: deps.redirectUri(id),
        scope: 'openid email',
        response_type: 'code',
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(checks.verifier),
        code_challenge_method: 'S256',
      });
      return { url, checks };
    },

    /**
     * The callback (`callbackUrl` with the provider's query): exchanges the code and verifies
     * the ID token. Refusals are `OidcError`s; the identity is (issuer, subject), plus the email
     * only when the provider says it is verified.
     */
    async finish(id: string, callbackUrl: URL, checks: OidcChecks): Promise<VerifiedIdentity> {
      const config = await configOf(id);
      if (callbackUrl.searchParams.has('error')) {
        const reason =
          callbackUrl.searchParams.get('error_description') ?? callbackUrl.searchParams.get('error');
        throw new OidcError('provider_refused', `${spec(id).name} did not sign you in (${reason})`);
      }
      let claims: oidc.IDToken | undefined;
      let profile: Record<string, unknown> | undefined;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.verifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
        profile = claims;
        // Providers that keep scope claims out of the ID token (as the spec allows for the code
        // flow) answer them at userinfo; openid-client checks that it is the same subject.
        if (claims && claims.email === undefined && config.serverMetadata().userinfo_endpoint)
          profile = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      } catch (err) {
        throw new OidcError('not_verified', `the answer from ${spec(id).name} could not be verified`, {
          cause: err,
        });
      }
      if (!claims) throw new OidcError('not_verified', `${spec(id).name} sent no ID token`);
      const email =
        profile?.email_verified === true && typeof profile.email === 'string' ? profile.email : null;
      return { provider: id, issuer: claims.iss, subject: claims.sub, email };
    },
  };
}

export type OidcClient = ReturnType<typeof createOidcClient>;
