import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_PATH } from '../src/accounts/instanceAccess.ts';
import { totpCodeAt } from '../src/accounts/totp.ts';
import { type CookieClient, createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';
import { startCraftedIssuer, type TokenMode } from './oidc/craftedIssuer.ts';
import { type LocalProvider, signInAtProvider, startLocalProvider } from './oidc/localProvider.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/**
 * Sign-in with OpenID Connect against a real provider (oidc-provider on loopback, its own login
 * pages driven over HTTP) and, for the token-level attacks, a crafted issuer at the wire level:
 * sign-up with a handle, sign-in into the instance, link and unlink on the dashboard's API, and
 * each attack refused with no session and no account made. (In Chromium: browser/oidcSignIn.test.ts.)
 */
describe('OpenID Connect sign-in', () => {
  let t: TestPlatform;
  let local: LocalProvider;
  let crafted: Awaited<ReturnType<typeof startCraftedIssuer>>;
  let port: number;
  const origin = () => `http://localhost:${port}`;

  beforeAll(async () => {
    port = await freePort();
    const closedPort = await freePort();
    local = await startLocalProvider({
      redirectUris: [`http://localhost:${port}/auth/oidc/local/callback`],
      accounts: { 'ursula-unverified': { email: 'ursula@people.example', emailVerified: false } },
    });
    crafted = await startCraftedIssuer({ clientId: 'crafted-client' });
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      port,
      env: {
        TRUST_PROXY: 'true',
        OIDC_PROVIDERS: JSON.stringify([
          {
            id: 'local',
            name: 'Local ID',
            issuer: local.issuer,
            clientId: local.clientId,
            clientSecret: local.clientSecret,
          },
          {
            id: 'crafted',
            name: 'Crafted',
            issuer: crafted.issuer,
            clientId: 'crafted-client',
            clientSecret: 'x',
          },
          {
            id: 'down',
            name: 'Down',
            issuer: `http://127.0.0.1:${closedPort}`,
            clientId: 'c',
            clientSecret: 'x',
          },
        ]),
      },
    });
  });
  afterAll(async () => {
    await t?.destroy();
    await local?.close();
    await crafted?.close();
  });

  async function start(client: CookieClient, provider: string, intent: 'login' | 'signup' | 'link') {
    const r = await client.cp(`/auth/oidc/${provider}/start`, { method: 'POST', body: { intent } });
    expect(r.status, r.text).toBe(200);
    return r.json<{ url: string }>().url;
  }

  /** The provider's answer for `login`: the platform callback URL, not yet followed. */
  async function atProvider(client: CookieClient, intent: 'login' | 'signup' | 'link', login: string) {
    return signInAtProvider(await start(client, 'local', intent), login, origin());
  }

  const callback = (client: CookieClient, url: URL) => client.cp(`${url.pathname}${url.search}`);
  const refusedWith = (
    r: { status: number; headers: Record<string, unknown> },
    where: string,
    code: string,
  ) => {
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`${where}?oidc_error=${code}`);
  };

  async function signUp(login: string, handle: string) {
    const client = createCookieClient(port);
    const back = await callback(client, await atProvider(client, 'signup', login));
    expect(back.status).toBe(302);
    expect(back.headers.location).toBe('/signup/provider');
    const done = await client.cp('/auth/oidc/signup', { method: 'POST', body: { handle } });
    expect(done.status, done.text).toBe(201);
    return { client, recoveryCodes: done.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }

  async function totpUser(handle: string) {
    const client = createCookieClient(port);
    await signUpWithTotp(client, handle);
    return client;
  }

  const identities = async (client: CookieClient) =>
    (await client.cp('/me/identities')).json<{
      identities: { id: string; provider: string; email: string | null }[];
    }>().identities;

  async function waitState(handle: string, state: string) {
    await expect
      .poll(
        async () =>
          (await t.admin('GET', `/containers/${handle}`)).json<{ instance?: { state: string } }>().instance
            ?.state,
        { timeout: 15_000 },
      )
      .toBe(state);
  }

  it('lists the configured providers for the sign-in buttons', async () => {
    const r = await createCookieClient(port).cp('/auth/oidc/providers');
    expect(r.json()).toEqual({
      providers: [
        { id: 'local', name: 'Local ID' },
        { id: 'crafted', name: 'Crafted' },
        { id: 'down', name: 'Down' },
      ],
    });
  });

  describe('sign-up', () => {
    it('asks for a handle after the provider, checks it, and creates the account with the identity as its sign-in method', async () => {
      const client = createCookieClient(port);
      const back = await callback(client, await atProvider(client, 'signup', 'alice-sub'));
      expect(back.headers.location).toBe('/signup/provider');
      // No account, no session yet: only the held identity, waiting for its handle.
      expect([...client.cookies().keys()]).toEqual(['mx_oidc']);
      const page = await client.cp('/signup/provider');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Pick your handle');
      expect(page.text).toContain('alice-sub@people.example');

      await totpUser('taken');
      const taken = await client.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'taken' } });
      expect(taken.status).toBe(409);
      expect(taken.json()).toMatchObject({ error: { code: 'handle_taken' } });
      const bad = await client.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'Not A Handle' } });
      expect(bad.status).toBe(400);
      expect(bad.json()).toMatchObject({ error: { code: 'invalid_handle' } });

      const done = await client.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'alice' } });
      expect(done.status).toBe(201);
      expect(done.json<{ recoveryCodes: string[] }>().recoveryCodes).toHaveLength(10);
      expect([...client.cookies().keys()].sort()).toEqual(['mx_access', 'mx_refresh']);
      expect((await client.cp('/me')).json()).toMatchObject({ user: { handle: 'alice' } });
      expect(await identities(client)).toMatchObject([
        { provider: 'local', email: 'alice-sub@people.example' },
      ]);
      await waitState('alice', 'running');
      // The held sign-up is spent: it makes no second account.
      const again = await client.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'alice2' } });
      expect(again.status).toBe(400);
      expect(again.json()).toMatchObject({ error: { code: 'flow_expired' } });
    });

    it('makes one account when two tabs finish the same sign-up', async () => {
      const tabs = [createCookieClient(port), createCookieClient(port)];
      for (const tab of tabs) {
        const back = await callback(tab, await atProvider(tab, 'signup', 'twin-sub'));
        expect(back.headers.location).toBe('/signup/provider');
      }
      const first = await tabs[0]!.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'twin-one' } });
      expect(first.status).toBe(201);
      const second = await tabs[1]!.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'twin-two' } });
      expect(second.status).toBe(409);
      expect(second.json()).toMatchObject({ error: { code: 'identity_taken' } });
      expect(t.platform.accounts.userByHandle('twin-two')).toBeUndefined();
    });

    it('stores no email the provider does not call verified', async () => {
      const { client } = await signUp('ursula-unverified', 'ursula');
      expect(await identities(client)).toMatchObject([{ provider: 'local', email: null }]);
    });

    it('never makes a second account for an identity that has one', async () => {
      await signUp('bob-sub', 'bob');
      const users = t.platform.accounts.listUsers().length;
      const client = createCookieClient(port);
      refusedWith(
        await callback(client, await atProvider(client, 'signup', 'bob-sub')),
        '/signup',
        'identity_taken',
      );
      expect(client.cookies().size).toBe(0);
      expect(t.platform.accounts.listUsers()).toHaveLength(users);
    });
  });

  describe('sign-in', () => {
    it('signs in with the provider, then crosses the bridge into the instance', async () => {
      await signUp('carol-sub', 'carol');
      await waitState('carol', 'running');
      const client = createCookieClient(port);
      const back = await callback(client, await atProvider(client, 'login', 'carol-sub'));
      expect(back.status).toBe(302);
      const bridge = new URL(back.headers.location as string);
      expect(bridge.host).toBe(`carol.localhost:${port}`);
      expect(bridge.pathname).toBe(BRIDGE_PATH);
      expect([...client.cookies().keys()].sort()).toEqual(['mx_access', 'mx_refresh']);
      const landed = await client.to(bridge.host, `${bridge.pathname}${bridge.search}`);
      expect(landed.status).toBe(303);
      expect(landed.headers['set-cookie']?.[0]).toMatch(/^mx_pass=/);
      const seen = await client.to(bridge.host, '/headers');
      expect(seen.status).toBe(200);
      expect((await identities(client))[0]).toMatchObject({ provider: 'local' });
    });

    it("goes where the sign-in page's next asks (a page here), and never to another origin", async () => {
      await signUp('paula-sub', 'paula');
      const visits = async (next: string) => {
        const client = createCookieClient(port);
        const r = await client.cp('/auth/oidc/local/start', {
          method: 'POST',
          body: { intent: 'login', next },
        });
        const url = await signInAtProvider(r.json<{ url: string }>().url, 'paula-sub', origin());
        return (await callback(client, url)).headers.location as string;
      };
      expect(await visits('/dashboard')).toBe('/dashboard');
      for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example'])
        expect(new URL(await visits(evil), origin()).host).toBe(`paula.localhost:${port}`);
      // Another person's instance is not opened for a user who is not an admin: the dashboard instead.
      expect(await visits('carol')).toBe('/dashboard');
    });

    it('wakes a sleeping instance on the way in', async () => {
      await signUp('dan-sub', 'dan');
      await waitState('dan', 'running');
      expect((await t.admin('POST', '/containers/dan/stop')).status).toBe(200);
      await waitState('dan', 'stopped');
      const client = createCookieClient(port);
      const back = await callback(client, await atProvider(client, 'login', 'dan-sub'));
      expect(new URL(back.headers.location as string).host).toBe(`dan.localhost:${port}`);
      await waitState('dan', 'running');
    });

    it('refuses an identity no account has, even with the email of one (no takeover by email)', async () => {
      await signUp('erin-sub', 'erin');
      const client = createCookieClient(port);
      refusedWith(
        await callback(client, await atProvider(client, 'login', 'nobody-sub')),
        '/login',
        'no_account',
      );
      // Another issuer vouching for erin's (verified) email is another identity: not erin.
      crafted.setMode('good', 'erin-elsewhere', 'erin-sub@people.example');
      const viaCrafted = await signInAtProvider(await start(client, 'crafted', 'login'), '', origin());
      refusedWith(await callback(client, viaCrafted), '/login', 'no_account');
      expect(client.cookies().has('mx_access')).toBe(false);
    });
  });

  describe('link and unlink on the dashboard', () => {
    it('links a provider to a signed-in account, signs in with it, and unlinks it', async () => {
      const client = await totpUser('frank');
      const back = await callback(client, await atProvider(client, 'link', 'frank-sub'));
      expect(back.headers.location).toBe('/dashboard?oidc_linked=local');
      const [linked] = await identities(client);
      expect(linked).toMatchObject({ provider: 'local', email: 'frank-sub@people.example' });

      const other = createCookieClient(port);
      const signedIn = await callback(other, await atProvider(other, 'login', 'frank-sub'));
      expect(signedIn.status).toBe(302);
      expect((await other.cp('/me')).json()).toMatchObject({ user: { handle: 'frank' } });

      const removed = await client.cp(`/me/identities/${linked!.id}`, { method: 'DELETE' });
      expect(removed.status).toBe(200);
      expect(await identities(client)).toEqual([]);
      const third = createCookieClient(port);
      refusedWith(
        await callback(third, await atProvider(third, 'login', 'frank-sub')),
        '/login',
        'no_account',
      );
    });

    it('never removes the last way to sign in, counting identities beside passkeys and TOTP', async () => {
      const { client } = await signUp('gina-sub', 'gina');
      const [only] = await identities(client);
      const refused = await client.cp(`/me/identities/${only!.id}`, { method: 'DELETE' });
      expect(refused.status).toBe(409);
      expect(refused.json()).toMatchObject({ error: { code: 'last_factor' } });
      // With an authenticator app added, either may go, but not both.
      const setup = (await client.cp('/me/totp/options', { method: 'POST' })).json<{
        flowId: string;
        secret: string;
      }>();
      const added = await client.cp('/me/totp/verify', {
        method: 'POST',
        body: { flowId: setup.flowId, code: totpCodeAt(setup.secret, Date.now()) },
      });
      expect(added.status).toBe(201);
      expect((await client.cp('/me/totp', { method: 'DELETE' })).status).toBe(200);
      expect((await client.cp(`/me/identities/${only!.id}`, { method: 'DELETE' })).status).toBe(409);
    });

    it('needs a signed-in user to start a link, and refuses an identity linked to another account', async () => {
      const anonymous = createCookieClient(port);
      const r = await anonymous.cp('/auth/oidc/local/start', { method: 'POST', body: { intent: 'link' } });
      expect(r.status).toBe(401);
      await signUp('hank-sub', 'hank');
      const client = await totpUser('ivy');
      refusedWith(
        await callback(client, await atProvider(client, 'link', 'hank-sub')),
        '/dashboard',
        'identity_taken',
      );
      expect(await identities(client)).toEqual([]);
    });

    it('refuses a link finished in another session than the one that started it', async () => {
      const client = await totpUser('jack');
      const url = await atProvider(client, 'link', 'jack-sub');
      await client.cp('/auth/logout', { method: 'POST' });
      refusedWith(await callback(client, url), '/dashboard', 'signed_out');
    });
  });

  describe('attacks', () => {
    it('refuses a callback without state, or with another state', async () => {
      for (const mangle of [
        (u: URL) => u.searchParams.delete('state'),
        (u: URL) => u.searchParams.set('state', 'forged'),
      ]) {
        const client = createCookieClient(port);
        const url = await atProvider(client, 'signup', 'kim-sub');
        mangle(url);
        refusedWith(await callback(client, url), '/signup', 'state_mismatch');
        // The round trip is spent: the genuine answer cannot be used after a forged one.
        expect(client.cookies().has('mx_oidc')).toBe(false);
      }
    });

    it("refuses another browser's callback (login CSRF): the round trip is bound to the browser that started it", async () => {
      await signUp('mallory-sub', 'mallory');
      const attacker = createCookieClient(port);
      const url = await atProvider(attacker, 'login', 'mallory-sub');
      const victim = createCookieClient(port);
      refusedWith(await callback(victim, url), '/login', 'flow_expired');
      expect(victim.cookies().has('mx_access')).toBe(false);
    });

    it('refuses a replayed callback, and a code used twice', async () => {
      await signUp('nina-sub', 'nina');
      const client = createCookieClient(port);
      const url = await atProvider(client, 'login', 'nina-sub');
      const flowCookie = client.cookies().get('mx_oidc')!;
      expect((await callback(client, url)).status).toBe(302);
      // The same answer again, with the same flow cookie: the flow is gone.
      const replayer = createCookieClient(port);
      replayer.setCookie(replayer.control, 'mx_oidc', flowCookie);
      refusedWith(await callback(replayer, url), '/login', 'flow_expired');
      // The used code under a fresh round trip's state: the provider refuses to redeem it twice.
      const fresh = createCookieClient(port);
      const freshUrl = await atProvider(fresh, 'login', 'nina-sub');
      freshUrl.searchParams.set('code', url.searchParams.get('code')!);
      refusedWith(await callback(fresh, freshUrl), '/login', 'not_verified');
      expect(fresh.cookies().has('mx_access')).toBe(false);
    });

    it.each<[TokenMode, string]>([
      ['wrong-issuer', 'an ID token from another issuer'],
      ['wrong-audience', 'an ID token for another client'],
      ['expired', 'an expired ID token'],
      ['unsigned', 'an unsigned ID token (alg none)'],
      ['foreign-key', "an ID token signed with a key not in the provider's JWKS"],
      ['wrong-nonce', 'an ID token with another nonce'],
    ])('refuses %s (%s): no account, no session', async (mode) => {
      crafted.setMode(mode, `victim-of-${mode}`);
      const client = createCookieClient(port);
      const url = await signInAtProvider(await start(client, 'crafted', 'signup'), '', origin());
      refusedWith(await callback(client, url), '/signup', 'not_verified');
      expect(client.cookies().size).toBe(0);
      expect((await client.cp('/signup/provider')).headers.location).toBe('/signup?oidc_error=flow_expired');
    });

    it('accepts the same crafted issuer when its ID token is right (the refusals above are for the token)', async () => {
      crafted.setMode('good', 'crafted-good');
      const client = createCookieClient(port);
      const url = await signInAtProvider(await start(client, 'crafted', 'signup'), '', origin());
      expect((await callback(client, url)).headers.location).toBe('/signup/provider');
    });

    it('says so when the provider refuses, or cannot be reached', async () => {
      const client = createCookieClient(port);
      const url = await atProvider(client, 'login', 'olga-sub');
      const denied = new URL(url.pathname, url);
      denied.searchParams.set('error', 'access_denied');
      denied.searchParams.set('state', url.searchParams.get('state')!);
      refusedWith(await callback(client, denied), '/login', 'provider_refused');
      const down = await client.cp('/auth/oidc/down/start', { method: 'POST', body: { intent: 'login' } });
      expect(down.status).toBe(502);
      expect(down.json()).toMatchObject({ error: { code: 'provider_unavailable' } });
      expect(client.cookies().has('mx_oidc')).toBe(false);
    });

    it('limits bodies and rates, and knows only configured providers', async () => {
      const client = createCookieClient(port);
      const big = await client.cp('/auth/oidc/local/start', {
        method: 'POST',
        body: { intent: 'login', pad: 'x'.repeat(4096) },
      });
      expect(big.status).toBe(413);
      expect(big.json()).toMatchObject({ error: { code: 'body_too_large' } });
      const unknown = await client.cp('/auth/oidc/nope/start', { method: 'POST', body: { intent: 'login' } });
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toMatchObject({ error: { code: 'unknown_provider' } });
      const bad = await client.cp('/auth/oidc/local/start', { method: 'POST', body: { intent: 'takeover' } });
      expect(bad.status).toBe(400);
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++)
        statuses.push(
          (await client.cp('/auth/oidc/local/start', { method: 'POST', body: { intent: 'login' } })).status,
        );
      expect(statuses).toContain(429);
      const origin = await createCookieClient(port, { origin: 'http://evil.localhost:1' }).cp(
        '/auth/oidc/signup',
        {
          method: 'POST',
          body: { handle: 'evil' },
        },
      );
      expect(origin.status).toBe(403);
    });
  });
});
