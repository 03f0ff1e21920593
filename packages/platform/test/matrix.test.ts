import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { startSynapse, type TestSynapse } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
