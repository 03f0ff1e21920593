import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { startSynapse, type TestSynapse } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_UP_TTL_MS } from '../src/accounts/sessions.ts';
import { totpCodeAt } from '../src/accounts/totp.ts';
import { MATRIX_RESETS_PER_HOUR } from '../src/api/matrixLoginRoute.ts';
import { type CookieClient, createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

async function mx(base: string, method: string, p: string, body?: unknown, token?: string) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const login = (base: string, user: string, password: string) =>
  mx(base, 'POST', '/_matrix/client/v3/login', {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user },
    password,
  });

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The platform and a real Synapse: each user gets @handle and @handle_ai at sign-up, sealed at
 * rest, @handle_ai's reach only that instance's environment, a DM wakes a sleeping instance
 * (appservice push), destroying the user closes both accounts, and /health tells the truth.
 */
describe('Matrix accounts on a real homeserver', () => {
  let synapse: TestSynapse;
  let t: TestPlatform;
  let base: string;
  // The platform's clock runs with the real one, moved ahead to make a session's proof stale.
  let skew = 0;
  const clock = () => Date.now() + skew;

  beforeAll(async () => {
    const port = await freePort();
    const s = await startSynapse({ appserviceUrl: `http://127.0.0.1:${port}` });
    if (!s) throw new Error('Synapse is needed for these tests (scripts/synapse.sh install)');
    synapse = s;
    t = await startTestPlatform({
      runtime: 'process',
      port,
      command: [process.execPath, FIXTURE],
      env: { ...synapse.env, MATRIX_INSTANCE_PORT: '0' },
      clock,
    });
    base = `http://127.0.0.1:${t.port}`;
    await t.platform.homeserver?.check();
  }, 120_000);
  afterAll(async () => {
    await t?.destroy();
    synapse?.destroy();
  });

  it('registers @alice and @alice_ai at sign-up, with credentials sealed at rest', async () => {
    await t.provision('alice');
    const owner = t.platform.homeserver?.ownerLogin('alice');
    expect(owner?.userId).toBe('@alice:localhost');
    // The owner's login works on the homeserver, through the platform's /_matrix/ relay.
    const r = await login(base, owner?.userId ?? '', owner?.password ?? '');
    expect(r.status).toBe(200);
    // What the database holds is sealed: neither password nor token is in it in the clear.
    const { DatabaseSync } = await import('node:sqlite');
    const raw = new DatabaseSync(`${t.dataDir}/platform.db`, { readOnly: true });
    const stored = raw.prepare('select * from matrix_accounts where handle = ?').get('alice') as Record<
      string,
      string
    >;
    raw.close();
    expect(stored.user_id).toBe('@alice:localhost');
    expect(stored.ai_user_id).toBe('@alice_ai:localhost');
    expect(stored.user_secret_sealed).toMatch(/^v1\./);
    const env = t.platform.homeserver?.instanceEnv('alice') ?? {};
    expect(JSON.stringify(stored)).not.toContain(owner?.password);
    expect(JSON.stringify(stored)).not.toContain(env.MATRIX_ACCESS_TOKEN);
  });

  it("gives @alice_ai's token to alice's instance only, and nothing of @alice", async () => {
    await t.provision('bob');
    const env = t.platform.homeserver?.instanceEnv('alice') ?? {};
    expect(env).toMatchObject({ MATRIX_USER_ID: '@alice_ai:localhost', MATRIX_OWNER_ID: '@alice:localhost' });
    expect(env.MATRIX_HOMESERVER_URL).toBe(t.platform.matrixRelayUrl());
    // The instance reaches the homeserver through the relay on the host, as @alice_ai.
    const who = await mx(
      env.MATRIX_HOMESERVER_URL ?? '',
      'GET',
      '/_matrix/client/v3/account/whoami',
      undefined,
      env.MATRIX_ACCESS_TOKEN,
    );
    expect(who.body.user_id).toBe('@alice_ai:localhost');
    const bobEnv = t.platform.homeserver?.instanceEnv('bob') ?? {};
    expect(bobEnv.MATRIX_USER_ID).toBe('@bob_ai:localhost');
    expect(bobEnv.MATRIX_ACCESS_TOKEN).not.toBe(env.MATRIX_ACCESS_TOKEN);
    expect(Object.values(env).join(' ')).not.toContain(t.platform.homeserver?.ownerLogin('alice')?.password);
  });

  describe("the owner's own Matrix sign-in (dashboard)", () => {
    type Login = { userId: string; homeserverUrl: string; password: string };
    let carol: CookieClient;
    let carolSecret: string;
    let resets = 0;

    async function signedUp(handle: string) {
      const client = createCookieClient(t.port);
      const { secret } = await signUpWithTotp(client, handle, clock());
      await until(`${handle}'s Matrix accounts`, () => !!t.platform.homeserver?.ownerId(handle));
      return { client, secret };
    }
    async function reset(client: CookieClient) {
      const r = await client.cp('/me/matrix/password', { method: 'POST' });
      if (r.status === 201) resets++;
      return r;
    }

    beforeAll(async () => {
      ({ client: carol, secret: carolSecret } = await signedUp('carol'));
    }, 60_000);

    it('shows the Matrix id and the homeserver URL, and a new password that signs in to Synapse', async () => {
      const info = await carol.cp('/me/matrix');
      expect(info.status).toBe(200);
      expect(info.json()).toEqual({
        userId: '@carol:localhost',
        homeserverUrl: `http://localhost:${t.port}`,
      });
      const before = t.platform.homeserver?.ownerLogin('carol');
      const r = await reset(carol);
      expect(r.status).toBe(201);
      expect(r.headers['cache-control']).toBe('no-store');
      const got = r.json<Login>();
      expect(got).toMatchObject({ userId: '@carol:localhost', homeserverUrl: `http://localhost:${t.port}` });
      expect(got.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      // A real /login, through the homeserver URL it gave (the control-plane host's relay).
      const ok = await login(got.homeserverUrl.replace('localhost', '127.0.0.1'), got.userId, got.password);
      expect(ok.status).toBe(200);
      expect(ok.body.user_id).toBe('@carol:localhost');
      // The old password no longer works; the new one is what the platform keeps (sealed).
      expect((await login(base, got.userId, before?.password ?? '')).status).toBe(403);
      expect(t.platform.homeserver?.ownerLogin('carol')?.password).toBe(got.password);
    });

    it("keeps working after the platform's own Matrix device was signed out (e.g. from Element)", async () => {
      const pw = t.platform.homeserver?.ownerLogin('carol')?.password ?? '';
      const token = String((await login(base, '@carol:localhost', pw)).body.access_token);
      // "Sign out all sessions": the platform's device too.
      expect((await mx(base, 'POST', '/_matrix/client/v3/logout/all', {}, token)).status).toBe(200);
      const r = await reset(carol);
      expect(r.status).toBe(201);
      expect((await login(base, '@carol:localhost', r.json<Login>().password)).status).toBe(200);
    });

    it('refuses a session without a fresh proof until it steps up', async () => {
      skew += STEP_UP_TTL_MS + 1000;
      carol.dropCookie(carol.control, 'mx_access');
      expect((await carol.cp('/me/matrix')).status).toBe(200); // the id is not a secret
      const stale = await reset(carol);
      expect(stale.status).toBe(403);
      expect(stale.json<{ error: { code: string } }>().error.code).toBe('step_up_required');
      expect(stale.text).not.toContain('password"');
      const proof = await carol.cp('/me/step-up/totp', {
        method: 'POST',
        body: { code: totpCodeAt(carolSecret, clock()) },
      });
      expect(proof.status).toBe(200);
      expect((await reset(carol)).status).toBe(201);
    });

    it("never gives one user's Matrix sign-in to another user's session, nor to no session", async () => {
      const { client: dave } = await signedUp('dave');
      const carolPw = t.platform.homeserver?.ownerLogin('carol')?.password ?? '';
      expect((await dave.cp('/me/matrix')).json()).toMatchObject({ userId: '@dave:localhost' });
      const theirs = await dave.cp('/me/matrix/password', { method: 'POST' });
      expect(theirs.json<Login>().userId).toBe('@dave:localhost');
      // No handle in the route to point elsewhere; carol's password is untouched.
      expect(
        (await dave.cp('/me/matrix/password?handle=carol', { method: 'POST' })).json<Login>().userId,
      ).toBe('@dave:localhost');
      expect((await login(base, '@carol:localhost', carolPw)).status).toBe(200);
      const anon = createCookieClient(t.port);
      expect((await anon.cp('/me/matrix')).status).toBe(401);
      expect((await anon.cp('/me/matrix/password', { method: 'POST' })).status).toBe(401);
      // A script on another site riding carol's cookie is stopped by the Origin check.
      const cross = await carol.cp('/me/matrix/password', {
        method: 'POST',
        headers: { origin: 'https://evil.example' },
      });
      expect(cross.status).toBe(403);
      expect(cross.json<{ error: { code: string } }>().error.code).toBe('bad_origin');
      const big = await carol.cp('/me/matrix/password', { method: 'POST', body: { pad: 'x'.repeat(4096) } });
      expect(big.status).toBe(413);
      expect((await login(base, '@carol:localhost', carolPw)).status).toBe(200);
    });

    it(`allows ${MATRIX_RESETS_PER_HOUR} new passwords an hour, then says when to try again`, async () => {
      while (resets < MATRIX_RESETS_PER_HOUR) expect((await reset(carol)).status).toBe(201);
      const pw = t.platform.homeserver?.ownerLogin('carol')?.password ?? '';
      const over = await reset(carol);
      expect(over.status).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      // Refused means nothing changed: the last password still signs in.
      expect((await login(base, '@carol:localhost', pw)).status).toBe(200);
    });
  });

  it('relays only the client API: no admin API, no appservice push without its token', async () => {
    expect((await t.request({ path: '/_matrix/client/versions' })).status).toBe(200);
    expect((await t.request({ path: '/_synapse/admin/v1/server_version' })).status).not.toBe(200);
    const push = await t.request({
      method: 'PUT',
      path: '/_matrix/app/v1/transactions/x1',
      body: { events: [] },
    });
    expect(push.status).toBe(401);
    const wrong = await t.request({
      method: 'PUT',
      path: '/_matrix/app/v1/transactions/x1',
      body: { events: [] },
      headers: { authorization: 'Bearer wrong-token-wrong-token' },
    });
    expect(wrong.status).toBe(403);
    const bad = await t.request({
      method: 'PUT',
      path: '/_matrix/app/v1/transactions/x2',
      body: { events: 'nope' },
      headers: { authorization: `Bearer ${synapse.hsToken}` },
    });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ errcode: 'M_BAD_JSON' });
  });

  it('refuses an oversize body (413) and a caller over its rate (429, Matrix-shaped) at the relay', async () => {
    const big = await t.request({
      method: 'PUT',
      path: '/_matrix/client/v3/rooms/!x:localhost/send/m.room.message/big',
      body: Buffer.alloc(11 * 1024 * 1024, 97),
      headers: { 'content-type': 'application/json', authorization: 'Bearer some-token' },
    });
    expect(big.status).toBe(413);
    // One access token's budget (600 a minute) is its own: spending it does not touch another's.
    const hit = () =>
      t.request({
        path: '/_matrix/client/v3/account/whoami',
        headers: { authorization: 'Bearer flood-token' },
      });
    let last = await hit();
    for (let i = 0; i < 600 && last.status !== 429; i++) last = await hit();
    expect(last.status).toBe(429);
    expect(last.json()).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED' });
    const other = await t.request({
      path: '/_matrix/client/v3/account/whoami',
      headers: { authorization: 'Bearer other-token' },
    });
    expect(other.status).toBe(401);
  }, 60_000);

  it('wakes a sleeping instance when its AI is sent a DM', async () => {
    await t.admin('POST', '/containers/alice/stop');
    expect(t.platform.store.get('alice')?.state).toBe('stopped');
    const bob = t.platform.homeserver?.ownerLogin('bob');
    const token = String((await login(base, bob?.userId ?? '', bob?.password ?? '')).body.access_token);
    const room = await mx(
      base,
      'POST',
      '/_matrix/client/v3/createRoom',
      { is_direct: true, invite: ['@alice_ai:localhost'], preset: 'trusted_private_chat' },
      token,
    );
    expect(room.status).toBe(200);
    await until('alice awake', () => t.platform.store.get('alice')?.state === 'running');
    // Its gateway joins (this fixture has none: joined here with its token), then sleeps again:
    // a message in that room wakes it too.
    const env = t.platform.homeserver?.instanceEnv('alice') ?? {};
    const roomId = encodeURIComponent(String(room.body.room_id));
    expect(
      (await mx(base, 'POST', `/_matrix/client/v3/rooms/${roomId}/join`, {}, env.MATRIX_ACCESS_TOKEN)).status,
    ).toBe(200);
    await t.admin('POST', '/containers/alice/stop');
    const sent = await mx(
      base,
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(String(room.body.room_id))}/send/m.room.message/t1`,
      { msgtype: 'm.text', body: 'hello' },
      token,
    );
    expect(sent.status).toBe(200);
    await until('alice awake again', () => t.platform.store.get('alice')?.state === 'running');
  });

  it('reports the homeserver in /health: ok, then unreachable when it stops', async () => {
    const ok = (await t.request({ path: '/health' })).json<{ homeserver: { status: string } }>();
    expect(ok.homeserver).toMatchObject({ status: 'ok', serverName: 'localhost' });
    synapse.stop();
    try {
      await t.platform.homeserver?.check();
      const down = (await t.request({ path: '/health' })).json<{
        homeserver: { status: string };
        problems: string[];
      }>();
      expect(down.homeserver.status).toBe('unreachable');
      expect(down.problems.join(' ')).toMatch(/Matrix homeserver/);
    } finally {
      synapse.start();
      await t.platform.homeserver?.check();
    }
  });

  it('deactivates both accounts when the user is destroyed', async () => {
    const owner = t.platform.homeserver?.ownerLogin('bob');
    const ai = t.platform.homeserver?.instanceEnv('bob') ?? {};
    expect((await t.admin('DELETE', '/containers/bob?deleteData=true')).status).toBeLessThan(300);
    await until(
      'bob deactivated',
      // Both accounts closed on the homeserver, then forgotten by the platform.
      () => t.platform.homeserver?.ownerLogin('bob') === null,
    );
    const again = await login(base, owner?.userId ?? '', owner?.password ?? '');
    // Synapse forgets a deactivated account's password: the login is refused (403).
    expect(again.status).toBe(403);
    // @bob_ai's token, which bob's instance had, no longer opens anything.
    const who = await mx(base, 'GET', '/_matrix/client/v3/account/whoami', undefined, ai.MATRIX_ACCESS_TOKEN);
    expect(who.status).toBe(401);
    expect(t.platform.homeserver?.ownerLogin('bob')).toBeNull();
  });
});

describe('the Matrix sign-in without a homeserver', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
  });
  afterAll(() => t?.destroy());

  it('says matrix_off (404) to a signed-in owner', async () => {
    const client = createCookieClient(t.port);
    await signUpWithTotp(client, 'erin');
    for (const r of [
      await client.cp('/me/matrix'),
      await client.cp('/me/matrix/password', { method: 'POST' }),
    ]) {
      expect(r.status).toBe(404);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('matrix_off');
    }
  });
});
