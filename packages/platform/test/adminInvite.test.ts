import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inviteHash } from '../src/accounts/adminInvites.ts';
import { totpCodeAt } from '../src/accounts/totp.ts';
import { createCookieClient } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/matrixos.ts', import.meta.url));
const run = promisify(execFile);

/**
 * The first admin of a new server: `matrixos admin-invite` prints a one-time sign-up link, and
 * the account made through it is an admin. Single use, expiring, hashed at rest; every way of
 * spending it twice, late or forged is refused before anything is created.
 */
describe('admin invites', () => {
  let t: TestPlatform;
  let now = Date.now();
  const clock = () => now;

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      clock,
      env: { TRUST_PROXY: 'true' },
    });
  });
  afterAll(() => t?.destroy());

  /** The operator's command, for real, against the running platform's data directory. */
  async function cli(args: string[]): Promise<Record<string, string>> {
    const { stdout } = await run(process.execPath, [CLI, 'admin-invite', ...args], {
      env: {
        ...process.env,
        DATA_DIR: t.dataDir,
        PLATFORM_PORT: String(t.port),
        PLATFORM_DOMAIN: 'localhost',
        LOG_LEVEL: 'silent',
      },
    });
    return JSON.parse(stdout) as Record<string, string>;
  }
  async function invite(ttl?: string): Promise<{ link: URL; token: string; expiresAt: string }> {
    const out = (await cli(ttl ? ['--ttl', ttl] : [])) as { link: string; expiresAt: string };
    const link = new URL(out.link);
    return { link, token: link.searchParams.get('invite') ?? '', expiresAt: out.expiresAt };
  }

  async function startTotp(c: ReturnType<typeof createCookieClient>, handle: string, token?: string) {
    return c.cp('/auth/signup/totp/options', {
      method: 'POST',
      body: token === undefined ? { handle } : { handle, invite: token },
    });
  }

  async function finishTotp(c: ReturnType<typeof createCookieClient>, start: { json<T>(): T }) {
    const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
    return c.cp('/auth/signup/totp/verify', {
      method: 'POST',
      body: { flowId, code: totpCodeAt(secret, now) },
    });
  }

  const roleOf = async (c: ReturnType<typeof createCookieClient>) =>
    (await c.cp('/me')).json<{ user: { role: string } }>().user.role;
  const available = async (handle: string) =>
    (await createCookieClient(t.port).cp(`/auth/handles/${handle}`)).json<{ available: boolean }>().available;

  it('prints a sign-up link whose account becomes an admin, and keeps only its hash', async () => {
    const { link, token, expiresAt } = await invite();
    expect(`${link.origin}${link.pathname}`).toBe(`http://localhost:${t.port}/signup`);
    expect(token).toMatch(/^mxv_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);

    const db = new Database(path.join(t.dataDir, 'platform.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM admin_invites').all() as { token_hash: string }[];
    db.close();
    expect(rows.map((r) => r.token_hash)).toContain(inviteHash(token));
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));

    const page = await createCookieClient(t.port).cp(`/signup${link.search}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('administrator invite');

    const c = createCookieClient(t.port);
    const done = await finishTotp(c, await startTotp(c, 'root-admin', token));
    expect(done.status).toBe(201);
    expect(await roleOf(c)).toBe('admin');
    expect((await c.cp('/admin')).status).toBe(200);
  });

  it('works once: a second sign-up with the same link is refused before it starts', async () => {
    const { token } = await invite();
    const first = createCookieClient(t.port);
    expect((await finishTotp(first, await startTotp(first, 'once-admin', token))).status).toBe(201);

    const second = await startTotp(createCookieClient(t.port), 'twice-admin', token);
    expect(second.status).toBe(400);
    expect(second.json()).toMatchObject({ error: { code: 'invite_invalid' } });
    expect(await available('twice-admin')).toBe(true);
  });

  it('lets one of two sign-ups racing with the same link win; the other creates nothing', async () => {
    const { token } = await invite();
    const a = createCookieClient(t.port);
    const b = createCookieClient(t.port);
    const startA = await startTotp(a, 'race-a', token);
    const startB = await startTotp(b, 'race-b', token);
    expect([startA.status, startB.status]).toEqual([200, 200]);
    const [doneA, doneB] = await Promise.all([finishTotp(a, startA), finishTotp(b, startB)]);
    expect([doneA.status, doneB.status].sort()).toEqual([201, 400]);
    const loser = doneA.status === 400 ? 'race-a' : 'race-b';
    expect((doneA.status === 400 ? doneA : doneB).json()).toMatchObject({
      error: { code: 'invite_invalid' },
    });
    expect(await available(loser)).toBe(true);
  });

  it('expires', async () => {
    const { token } = await invite('1s');
    now = Date.now() + 2000;
    const late = await startTotp(createCookieClient(t.port), 'late-admin', token);
    expect(late.status).toBe(400);
    expect(late.json()).toMatchObject({ error: { code: 'invite_invalid' } });
  });

  it('expiring between the start and the end of a sign-up creates no account', async () => {
    const { token } = await invite('30s');
    now = Date.now();
    const c = createCookieClient(t.port);
    const start = await startTotp(c, 'slow-admin', token);
    expect(start.status).toBe(200);
    now += 31_000;
    const done = await finishTotp(c, start);
    expect(done.status).toBe(400);
    expect(done.json()).toMatchObject({ error: { code: 'invite_invalid' } });
    expect(await available('slow-admin')).toBe(true);
  });

  it('refuses forged invites: unknown, the stored hash itself, oversized', async () => {
    const { token } = await invite();
    for (const forged of ['mxv_not-a-real-invite', inviteHash(token), `mxv_${'a'.repeat(300)}`]) {
      const r = await startTotp(createCookieClient(t.port), 'forger', forged);
      expect(r.status, forged.slice(0, 20)).toBe(400);
      expect(r.json<{ error: { code: string } }>().error.code).toMatch(/^(invite_invalid|invalid_body)$/);
    }
    expect(await available('forger')).toBe(true);
  });

  it('leaves sign-ups without an invite as plain users', async () => {
    const c = createCookieClient(t.port);
    expect((await finishTotp(c, await startTotp(c, 'plain-user'))).status).toBe(201);
    expect(await roleOf(c)).toBe('user');
  });

  it('--if-none mints no second link while an admin exists', async () => {
    expect(await cli(['--if-none'])).toEqual({ skipped: 'an admin exists' });
  });

  it('rejects a bad --ttl with a message naming it', async () => {
    await expect(invite('forever')).rejects.toMatchObject({ stderr: expect.stringContaining('--ttl') });
  });
});
