import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/** A person at the provider: logging in with `login` makes them `sub: login`. */
export interface ProviderAccount {
  email?: string;
  emailVerified?: boolean;
}

/**
 * A real OpenID provider (`oidc-provider`, the certified Node implementation) on loopback, with
 * one confidential client registered for the platform. Its development login page takes any
 * login name (it becomes the subject) and any password. `accounts` decides the email claims.
 */
export async function startLocalProvider(opts: {
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  accounts?: Record<string, ProviderAccount>;
}) {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = opts.clientId ?? 'matrixos-platform';
  const clientSecret = opts.clientSecret ?? 'platform-client-secret-for-tests';
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    cookies: { keys: ['test-cookie-key-one', 'test-cookie-key-two'] },
    // Its own signing key and lifetimes, so that it does not warn about development defaults.
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-1', alg: 'RS256', use: 'sig' }] },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 300,
      Interaction: 600,
      Session: 600,
    },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, sub) {
      const account = opts.accounts?.[sub];
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: account?.email ?? `${sub}@people.example`,
            email_verified: account?.emailVerified ?? true,
          };
        },
      };
    },
  });
  // The dev login page warns on every request; the tests know it is a development provider.
  provider.on('server_error', () => undefined);
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type LocalProvider = Awaited<ReturnType<typeof startLocalProvider>>;

/**
 * A person's browser at the provider, over plain HTTP: follows its redirects with its cookies,
 * fills its login form as `login` and confirms its consent form, until the provider sends the
 * browser back to `returnOrigin`. Returns that URL (the platform's callback with code and state).
 */
export async function signInAtProvider(
  authorizeUrl: string,
  login: string,
  returnOrigin: string,
): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(authorizeUrl);
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (url.origin === returnOrigin) return url;
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      method = 'GET';
      body = undefined;
      continue;
    }
    const page = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    if (!action)
      throw new Error(`the provider answered ${res.status} without a form:\n${page.slice(0, 500)}`);
    const fields = new URLSearchParams();
    for (const m of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
      fields.set(m[1]!, m[2]!);
    if (page.includes('name="login"')) {
      fields.set('login', login);
      fields.set('password', 'any password');
    }
    url = new URL(action.replaceAll('&amp;', '&'), url);
    method = 'POST';
    body = fields.toString();
  }
  throw new Error('the provider never sent the browser back');
}
