import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../src/accounts/totp.ts';
import { EXPORTS_PER_HOUR } from '../src/api/exportRoute.ts';
import { createCookieClient } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/** `GET /me/export`: a user leaves with their whole home, and nobody else's. */
describe('GET /me/export', () => {
  let t: TestPlatform;
  const now = Date.now();
  const scratch = mkdtempSync(path.join(tmpdir(), 'matrixos-export-'));

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      clock: () => now,
      env: { TRUST_PROXY: 'true' },
    });
  });
  afterAll(async () => {
    await t?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function signUp(handle: string) {
    const client = createCookieClient(t.port);
    const start = await client.cp('/auth/signup/totp/options', { method: 'POST', body: { handle } });
    const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
    const done = await client.cp('/auth/signup/totp/verify', {
      method: 'POST',
      body: { flowId, code: totpCodeAt(secret, now) },
    });
    expect(done.status).toBe(201);
    return client;
  }

  it("streams the user's own home as a tar archive with its size, stopping the instance first", async () => {
    const alice = await signUp('alice');
    await signUp('bob');
    mkdirSync(path.join(t.homeOf('alice'), 'notes'), { recursive: true });
    writeFileSync(path.join(t.homeOf('alice'), 'notes', 'alice.txt'), 'mine');
    writeFileSync(path.join(t.homeOf('bob'), 'bob-secret.txt'), 'not yours');

    // The dashboard offers it.
    const page = await alice.cp('/dashboard');
    expect(page.text).toContain('href="/me/export" download>Download my data</a>');
    const r = await alice.cp('/me/export');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-tar');
    expect(r.headers['content-disposition']).toMatch(
      /^attachment; filename="matrixos-alice-\d{4}-\d{2}-\d{2}\.tar"$/,
    );
    expect(Number(r.headers['x-content-bytes'])).toBeGreaterThan(0);
    // The harness reads text; write the archive back as bytes (latin1 round-trips them) and list it.
    const file = path.join(scratch, 'alice.tar');
    const res = await fetch(`http://127.0.0.1:${t.port}/me/export`, {
      headers: { host: `localhost:${t.port}`, cookie: cookieHeader(alice), 'x-forwarded-for': alice.ip },
    });
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const listing = execFileSync('tar', ['--list', '--file', file], { encoding: 'utf8' });
    expect(listing).toContain('./notes/alice.txt');
    expect(listing).not.toContain('bob-secret');
    expect(
      execFileSync('tar', ['--extract', '--to-stdout', '--file', file, './notes/alice.txt'], {
        encoding: 'utf8',
      }),
    ).toBe('mine');
    const state = (await t.admin('GET', '/containers/alice')).json<{ instance: { state: string } }>().instance
      .state;
    expect(state).toBe('stopped');
  });

  it('refuses anyone signed out, and more than a few exports an hour', async () => {
    expect((await createCookieClient(t.port).cp('/me/export')).status).toBe(401);
    const carol = await signUp('carol');
    for (let i = 0; i < EXPORTS_PER_HOUR; i++) expect((await carol.cp('/me/export')).status).toBe(200);
    const limited = await carol.cp('/me/export');
    expect(limited.status).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(limited.headers['retry-after']).toBeDefined();
  });
});

function cookieHeader(client: ReturnType<typeof createCookieClient>): string {
  return [...client.cookies()].map(([k, v]) => `${k}=${v}`).join('; ');
}
