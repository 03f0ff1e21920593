import { fileURLToPath } from 'node:url';
import { instancePassKey, verifyInstancePass } from '@matrixos/shared';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_UP_TTL_MS } from '../src/accounts/sessions.ts';
import { totpCodeAt } from '../src/accounts/totp.ts';
import { createCookieClient } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';
import { createSoftAuthenticator } from './softAuthenticator.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/**
 * Accounts at the API level: sign-up and sign-in with passkeys and TOTP, sessions, the bridge to
 * an instance, and the attacks each must withstand. Instances are fixture processes that show
 * what reaches them. (The same flows in real Chromium: browser/passkeySignup.test.ts and
 * browser/accountPages.test.ts.)
 */
describe('accounts', () => {
  let t: TestPlatform;
  let now = Date.now();
  const clock = () => now;
  const origin = () => `http://localhost:${t.port}`;

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      clock,
      env: { TRUST_PROXY: 'true' },
    });
  });
  afterAll(() => t?.destroy());

  async function signUpWithPasskey(handle: string) {
    const client = createCookieClient(t.port);
    const device = createSoftAuthenticator();
    const start = await client.cp('/auth/signup/passkey/options', { method: 'POST', body: { handle } });
    expect(start.status).toBe(200);
    const { flowId, options } = start.json<{ flowId: string; options: never }>();
    const done = await client.cp('/auth/signup/passkey/verify', {
      method: 'POST',
      body: { flowId, response: device.register(options, origin()) },
    });
    expect(done.status).toBe(201);
    return { client, device, recoveryCodes: done.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }

  async function signUpWithTotp(handle: string) {
    const client = createCookieClient(t.port);
    const start = await client.cp('/auth/signup/totp/options', { method: 'POST', body: { handle } });
    const { flowId, secret, uri, qrSvg } = start.json<{
      flowId: string;
      secret: string;
      uri: string;
      qrSvg: string;
    }>();
    expect(uri).toContain(`otpauth://totp/Matrix%20OS:${handle}`);
    expect(qrSvg).toContain('<svg');
    const done = await client.cp('/auth/signup/totp/verify', {
      method: 'POST',
      body: { flowId, code: totpCodeAt(secret, now) },
    });
    expect(done.status).toBe(201);
    return { client, secret, recoveryCodes: done.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }

  async function waitRunning(handle: string) {
    await expect
      .poll(
        async () =>
          (await t.admin('GET', `/containers/${handle}`)).json<{ instance?: { state: string } }>().instance
            ?.state,
        { timeout: 15_000 },
      )
      .toBe('running');
  }

  async function openInstance(client: ReturnType<typeof createCookieClient>, handle: string) {
    const r = await client.cp('/me/instance/open', { method: 'POST' });
    expect(r.status).toBe(200);
    const url = new URL(r.json<{ url: string }>().url);
    expect(url.host).toBe(`${handle}.localhost:${t.port}`);
    return url;
  }

  describe('sign-up', () => {
    it('checks handles as they are typed, explaining the rules', async () => {
      const c = createCookieClient(t.port);
      expect((await c.cp('/auth/handles/free-name')).json()).toEqual({
        handle: 'free-name',
        available: true,
      });
      const bad = (await c.cp('/auth/handles/Bad.Name')).json<{ available: boolean; reason: string }>();
      expect(bad.available).toBe(false);
      expect(bad.reason).toContain('lower-case letters');
      expect((await c.cp('/auth/handles/admin')).json()).toMatchObject({
        available: false,
        reason: 'handle "admin" is reserved',
      });
    });

    it('signs up with a passkey, shows recovery codes once, and provisions the instance', async () => {
      const { client, recoveryCodes } = await signUpWithPasskey('alice');
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      const cookies = client.cookies();
      expect([...cookies.keys()].sort()).toEqual(['mx_access', 'mx_refresh']);
      await waitRunning('alice');
      const me = (await client.cp('/me')).json<{
        user: { handle: string };
        factors: { passkeys: unknown[]; totp: boolean };
        recoveryCodesLeft: number;
      }>();
      expect(me).toMatchObject({
        user: { handle: 'alice' },
        factors: { totp: false },
        recoveryCodesLeft: 10,
      });
      expect(me.factors.passkeys).toHaveLength(1);
      expect((await createCookieClient(t.port).cp('/auth/handles/alice')).json()).toMatchObject({
        available: false,
      });
    });

    it('sets HttpOnly, SameSite=Lax, host-only cookies', async () => {
      const c = createCookieClient(t.port);
      const start = await c.cp('/auth/signup/totp/options', {
        method: 'POST',
        body: { handle: 'cookie-check' },
      });
      const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
      const done = await c.cp('/auth/signup/totp/verify', {
        method: 'POST',
        body: { flowId, code: totpCodeAt(secret, now) },
      });
      for (const line of done.headers['set-cookie'] ?? []) {
        expect(line).toMatch(/HttpOnly/i);
        expect(line).toMatch(/SameSite=Lax/i);
        expect(line).not.toMatch(/Domain=/i);
      }
    });

    it('signs up with TOTP, the code confirming the secret', async () => {
      const { client } = await signUpWithTotp('bob');
      expect((await client.cp('/me')).json()).toMatchObject({
        user: { handle: 'bob' },
        factors: { totp: true, passkeys: [] },
      });
      await waitRunning('bob');
    });

    it('refuses a taken, reserved or malformed handle with 4xx and creates nothing', async () => {
      const c = createCookieClient(t.port);
      const taken = await c.cp('/auth/signup/totp/options', { method: 'POST', body: { handle: 'alice' } });
      expect(taken.status).toBe(409);
      expect(taken.json<{ error: { code: string } }>().error.code).toBe('handle_taken');
      for (const handle of ['Alice', 'www', 'a', 'x'.repeat(64), 'ålice', '../x']) {
        const r = await c.cp('/auth/signup/passkey/options', { method: 'POST', body: { handle } });
        expect(r.status, handle).toBe(400);
        expect(r.json<{ error: { code: string; rules?: string } }>().error).toMatchObject({
          code: 'invalid_handle',
          rules: expect.any(String),
        });
      }
    });

    it('rate-limits sign-up steps per handle too, whatever the client address', async () => {
      for (let i = 0; i < 10; i++) {
        const r = await createCookieClient(t.port).cp('/auth/signup/totp/options', {
          method: 'POST',
          body: { handle: 'hot-name' },
        });
        expect(r.status).toBe(200);
      }
      const blocked = await createCookieClient(t.port).cp('/auth/signup/passkey/options', {
        method: 'POST',
        body: { handle: 'hot-name' },
      });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('refuses a wrong first TOTP code, and lets the user try again', async () => {
      const c = createCookieClient(t.port);
      const { flowId, secret } = (
        await c.cp('/auth/signup/totp/options', { method: 'POST', body: { handle: 'carol' } })
      ).json<{ flowId: string; secret: string }>();
      const wrong = await c.cp('/auth/signup/totp/verify', {
        method: 'POST',
        body: { flowId, code: '000000' },
      });
      expect(wrong.status).toBe(400);
      expect(wrong.json<{ error: { code: string } }>().error.code).toBe('wrong_code');
      expect(
        (
          await c.cp('/auth/signup/totp/verify', {
            method: 'POST',
            body: { flowId, code: totpCodeAt(secret, now) },
          })
        ).status,
      ).toBe(201);
    });
  });

  describe('sign-in', () => {
    it('signs in again with the passkey after signing out', async () => {
      const { client, device } = await signUpWithPasskey('dave');
      expect((await client.cp('/auth/logout', { method: 'POST' })).status).toBe(200);
      expect((await client.cp('/me')).status).toBe(401);
      const start = (
        await client.cp('/auth/login/options', { method: 'POST', body: { handle: 'dave' } })
      ).json<{ flowId: string; options: never; methods: unknown }>();
      expect(start.methods).toEqual({ passkey: true, totp: false });
      const r = await client.cp('/auth/login/passkey', {
        method: 'POST',
        body: { flowId: start.flowId, response: device.assert(start.options, origin()) },
      });
      expect(r.status).toBe(200);
      expect((await client.cp('/me')).json()).toMatchObject({ user: { handle: 'dave' } });
    });

    it('refuses a passkey assertion made for another origin, another RP ID, with a forged signature or a replayed counter', async () => {
      const { device } = await signUpWithPasskey('erin');
      const c = createCookieClient(t.port);
      const attempt = async (o: Parameters<typeof device.assert>[2]) => {
        const start = (await c.cp('/auth/login/options', { method: 'POST', body: { handle: 'erin' } })).json<{
          flowId: string;
          options: never;
        }>();
        return c.cp('/auth/login/passkey', {
          method: 'POST',
          body: { flowId: start.flowId, response: device.assert(start.options, origin(), o) },
        });
      };
      expect((await attempt({ origin: `http://erin.localhost:${t.port}` })).status).toBe(401);
      expect((await attempt({ origin: 'https://evil.example' })).status).toBe(401);
      expect((await attempt({ rpId: 'evil.example' })).status).toBe(401);
      expect((await attempt({ forgeSignature: true })).status).toBe(401);
      const good = await attempt({});
      expect(good.status).toBe(200);
      // A cloned authenticator shows itself by a counter that does not move forward.
      expect((await attempt({ counter: 1 })).status).toBe(401);
      expect(c.cookies().has('mx_access')).toBe(true); // only the good one signed in
    });

    it("refuses a challenge used twice, or another user's passkey on someone's sign-in", async () => {
      const { device } = await signUpWithPasskey('frank');
      const other = await signUpWithPasskey('grace');
      const c = createCookieClient(t.port);
      const start = (await c.cp('/auth/login/options', { method: 'POST', body: { handle: 'frank' } })).json<{
        flowId: string;
        options: never;
      }>();
      const stolen = other.device.assert(start.options, origin());
      expect(
        (
          await c.cp('/auth/login/passkey', {
            method: 'POST',
            body: { flowId: start.flowId, response: stolen },
          })
        ).status,
      ).toBe(401);
      const again = await c.cp('/auth/login/passkey', {
        method: 'POST',
        body: { flowId: start.flowId, response: device.assert(start.options, origin()) },
      });
      expect(again.status).toBe(400); // the flow (and its challenge) was spent
      expect(again.json<{ error: { code: string } }>().error.code).toBe('flow_expired');
    });

    it('accepts a TOTP code once: the same code again is refused', async () => {
      const { secret } = await signUpWithTotp('heidi');
      now += 60_000; // the sign-up code's step is over
      const code = totpCodeAt(secret, now);
      const c1 = createCookieClient(t.port);
      expect(
        (await c1.cp('/auth/login/totp', { method: 'POST', body: { handle: 'heidi', code } })).status,
      ).toBe(200);
      const c2 = createCookieClient(t.port);
      const replay = await c2.cp('/auth/login/totp', { method: 'POST', body: { handle: 'heidi', code } });
      expect(replay.status).toBe(401);
      expect(c2.cookies().size).toBe(0);
    });

    it('slows guessing: after five wrong TOTP codes the same client waits, even with the right one', async () => {
      const { secret } = await signUpWithTotp('ivan');
      now += 60_000;
      const c = createCookieClient(t.port);
      for (let i = 0; i < 5; i++) {
        expect(
          (
            await c.cp('/auth/login/totp', {
              method: 'POST',
              body: { handle: 'ivan', code: String(100000 + i) },
            })
          ).status,
        ).toBe(401);
      }
      const blocked = await c.cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'ivan', code: totpCodeAt(secret, now) },
      });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      now += 5 * 60_000 + 1000;
      expect(
        (
          await c.cp('/auth/login/totp', {
            method: 'POST',
            body: { handle: 'ivan', code: totpCodeAt(secret, now) },
          })
        ).status,
      ).toBe(200);
    });

    it("cannot be locked out by a stranger: another client's wrong codes and sign-in starts leave the owner's TOTP and passkey working", async () => {
      const { client: owner, device } = await signUpWithPasskey('xena');
      const setup = (await owner.cp('/me/totp/options', { method: 'POST' })).json<{
        flowId: string;
        secret: string;
      }>();
      const added = await owner.cp('/me/totp/verify', {
        method: 'POST',
        body: { flowId: setup.flowId, code: totpCodeAt(setup.secret, now) },
      });
      expect(added.status).toBe(201);
      now += 60_000; // a new step: the code used to set the app up is spent
      const valid = new Set([-30_000, 0, 30_000].map((d) => totpCodeAt(setup.secret, now + d)));
      const wrong = Array.from({ length: 20 }, (_, i) => String(100000 + i)).filter((c) => !valid.has(c));

      // The attacker, from one address: 5 wrong codes, 21 sign-in starts, then more wrong codes.
      const attacker = createCookieClient(t.port, { ip: '10.66.0.1' });
      const guess = (code: string) =>
        attacker.cp('/auth/login/totp', { method: 'POST', body: { handle: 'xena', code } });
      for (const code of wrong.slice(0, 5)) expect((await guess(code)).status).toBe(401);
      for (let i = 0; i < 21; i++) {
        const r = await attacker.cp('/auth/login/options', { method: 'POST', body: { handle: 'xena' } });
        expect(r.status, `options ${i}`).toBe(200);
      }
      for (const code of wrong.slice(5, 8)) {
        const r = await guess(code);
        expect(r.status).toBe(429); // the attacker waits, doubling with each failure
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }

      // At once, from the owner's own address: the right code signs in ...
      const phone = createCookieClient(t.port, { ip: '10.77.0.1' });
      const totp = await phone.cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'xena', code: totpCodeAt(setup.secret, now) },
      });
      expect(totp.status).toBe(200);
      // ... and so does the passkey.
      const laptop = createCookieClient(t.port, { ip: '10.77.0.2' });
      const start = await laptop.cp('/auth/login/options', { method: 'POST', body: { handle: 'xena' } });
      expect(start.status).toBe(200);
      const { flowId, options } = start.json<{ flowId: string; options: never }>();
      const signedIn = await laptop.cp('/auth/login/passkey', {
        method: 'POST',
        body: { flowId, response: device.assert(options, origin()) },
      });
      expect(signedIn.status).toBe(200);
      expect((await laptop.cp('/me')).json()).toMatchObject({ user: { handle: 'xena' } });

      // The attacker is still slowed down, and only them.
      expect((await guess(wrong[9]!)).status).toBe(429);

      // Nor can the attacker spend the owner's own address: an X-Forwarded-For naming it is the
      // client's claim, and only the hop the edge appends (the last) counts.
      const spoofer = createCookieClient(t.port, { ip: '10.77.0.3, 10.66.0.2' });
      for (const code of wrong.slice(10, 16))
        expect(
          (await spoofer.cp('/auth/login/totp', { method: 'POST', body: { handle: 'xena', code } })).status,
        ).not.toBe(200);
      const desk = createCookieClient(t.port, { ip: '10.77.0.3' });
      const deskSignIn = await desk.cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'xena', code: totpCodeAt(setup.secret, now + 30_000) }, // the next step's code
      });
      expect(deskSignIn.status).toBe(200);
    });

    it('signs in with a recovery code, each code once', async () => {
      const { recoveryCodes } = await signUpWithPasskey('judy');
      const c = createCookieClient(t.port);
      const r = await c.cp('/auth/login/recovery', {
        method: 'POST',
        body: { handle: 'judy', code: recoveryCodes[0]!.toUpperCase() },
      });
      expect(r.json()).toEqual({ handle: 'judy', recoveryCodesLeft: 9 });
      expect(
        (
          await createCookieClient(t.port).cp('/auth/login/recovery', {
            method: 'POST',
            body: { handle: 'judy', code: recoveryCodes[0] },
          })
        ).status,
      ).toBe(401);
    });
  });

  describe('sessions', () => {
    it('rotates the refresh token, and revokes the whole family when an old one is used again', async () => {
      const { client } = await signUpWithTotp('kim');
      const first = client.cookies().get('mx_refresh')!;
      client.dropCookie(client.control, 'mx_access');
      expect((await client.cp('/me')).status).toBe(200); // refreshed transparently
      const second = client.cookies().get('mx_refresh')!;
      expect(second).not.toBe(first);
      now += 30_000; // past the grace window for parallel refreshes
      const thief = createCookieClient(t.port);
      thief.setCookie(thief.control, 'mx_refresh', first);
      expect((await thief.cp('/me')).status).toBe(401);
      // The legitimate browser's newer tokens died with the family.
      client.dropCookie(client.control, 'mx_access');
      expect((await client.cp('/me')).status).toBe(401);
    });

    it('lets parallel requests refresh with the same token without tripping reuse detection (200 rounds)', async () => {
      // The race this guards against showed in about one full run of many: so it runs 200 times.
      // Each round, four tabs holding only the same refresh token refresh at once; all stay
      // signed in, all get the one successor, and the next round starts from that successor.
      const { client } = await signUpWithTotp('lena');
      let refresh = client.cookies().get('mx_refresh')!;
      const tab = async () => {
        const c = createCookieClient(t.port, { ip: client.ip });
        c.setCookie(c.control, 'mx_refresh', refresh);
        const r = await c.cp('/auth/refresh', { method: 'POST' });
        return { status: r.status, refresh: c.cookies().get('mx_refresh') };
      };
      const ROUNDS = 200;
      let clean = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const results = await Promise.all([tab(), tab(), tab(), tab()]);
        expect(
          results.map((r) => r.status),
          `round ${round}`,
        ).toEqual([200, 200, 200, 200]);
        const successors = new Set(results.map((r) => r.refresh));
        expect(successors.size, `round ${round}`).toBe(1);
        const [next] = successors;
        expect(next).not.toBe(refresh);
        refresh = next!;
        clean++;
      }
      expect(clean).toBe(ROUNDS);
      // The family is alive at the end: the last successor still signs in.
      const last = createCookieClient(t.port);
      last.setCookie(last.control, 'mx_refresh', refresh);
      expect((await last.cp('/me')).status).toBe(200);
    });

    it('refuses a forged, alg:none or expired access token', async () => {
      const { client } = await signUpWithTotp('mike');
      const real = client.cookies().get('mx_access')!;
      const [, payload] = real.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const forged = await new SignJWT({ ...claims, role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('x'.repeat(32)));
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.`;
      const tampered = `${real.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${real.split('.')[2]}`;
      for (const token of [forged, none, tampered]) {
        const c = createCookieClient(t.port);
        c.setCookie(c.control, 'mx_access', token);
        expect((await c.cp('/me')).status, token.slice(0, 20)).toBe(401);
        expect((await c.cp('/containers')).status).toBe(401);
      }
      const c = createCookieClient(t.port);
      c.setCookie(c.control, 'mx_access', real);
      expect((await c.cp('/me')).status).toBe(200);
      now += 61 * 60_000;
      expect((await c.cp('/me')).status).toBe(401);
    });

    it('signs out server-side: the old access token stops working at once, and everywhere on request', async () => {
      const { client, secret } = await signUpWithTotp('nina');
      const stolenAccess = client.cookies().get('mx_access')!;
      await client.cp('/auth/logout', { method: 'POST' });
      const thief = createCookieClient(t.port);
      thief.setCookie(thief.control, 'mx_access', stolenAccess);
      expect((await thief.cp('/me')).status).toBe(401);

      now += 60_000;
      const phone = createCookieClient(t.port);
      await phone.cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'nina', code: totpCodeAt(secret, now) },
      });
      now += 60_000;
      const laptop = createCookieClient(t.port);
      await laptop.cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'nina', code: totpCodeAt(secret, now) },
      });
      expect((await phone.cp('/auth/logout-all', { method: 'POST' })).status).toBe(200);
      expect((await laptop.cp('/me')).status).toBe(401);
    });

    it('refuses state-changing requests from another origin (a tenant page posting a form)', async () => {
      const { client } = await signUpWithTotp('oscar');
      const tenant = `http://mallory.localhost:${t.port}`;
      for (const [path, body] of [
        ['/auth/logout-all', undefined],
        ['/me/instance/stop', undefined],
        ['/me/recovery-codes', undefined],
        ['/auth/login/totp', 'handle=oscar&code=123456'],
      ] as const) {
        const r = await client.cp(path, {
          method: 'POST',
          body,
          headers: { origin: tenant, 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(r.status, path).toBe(403);
        expect(r.json<{ error: { code: string } }>().error.code).toBe('bad_origin');
      }
      const noOrigin = await client.cp('/me/recovery-codes', { method: 'POST', headers: { origin: '' } });
      expect(noOrigin.status).toBe(403);
      expect((await client.cp('/me')).status).toBe(200); // still signed in: nothing happened
    });

    it('checks the Origin of a cookie request that also carries a bogus bearer token', async () => {
      const { client } = await signUpWithTotp('bearer-csrf');
      const tenant = `http://mallory.localhost:${t.port}`;
      for (const path of ['/me/instance/stop', '/me/recovery-codes', '/auth/logout-all']) {
        const r = await client.cp(path, {
          method: 'POST',
          headers: { origin: tenant, authorization: 'Bearer x' },
        });
        expect(r.status, path).toBe(403);
        expect(r.json<{ error: { code: string } }>().error.code).toBe('bad_origin');
      }
      expect((await client.cp('/me')).status).toBe(200); // still signed in: nothing happened
      // The admin token is what authenticates an admin call: no Origin needed, from anywhere.
      const admin = await t.request({
        method: 'POST',
        path: '/containers/provision',
        body: { handle: 'Bad Handle' },
        headers: { authorization: `Bearer ${t.adminToken}`, origin: tenant },
      });
      expect(admin.status).toBe(400);
    });
  });

  describe('factors', () => {
    it('adds a second factor, removes the first, and never the last', async () => {
      const { client } = await signUpWithPasskey('paula');
      const me = async () =>
        (await client.cp('/me')).json<{ factors: { passkeys: { id: string }[]; totp: boolean } }>();
      const [passkey] = (await me()).factors.passkeys;
      const last = await client.cp(`/me/passkeys/${encodeURIComponent(passkey!.id)}`, { method: 'DELETE' });
      expect(last.status).toBe(409);
      expect(last.json<{ error: { code: string } }>().error.code).toBe('last_factor');
      const { flowId, secret } = (await client.cp('/me/totp/options', { method: 'POST' })).json<{
        flowId: string;
        secret: string;
      }>();
      expect(
        (
          await client.cp('/me/totp/verify', {
            method: 'POST',
            body: { flowId, code: totpCodeAt(secret, now) },
          })
        ).status,
      ).toBe(201);
      expect(
        (await client.cp(`/me/passkeys/${encodeURIComponent(passkey!.id)}`, { method: 'DELETE' })).status,
      ).toBe(200);
      expect(await me()).toMatchObject({ factors: { passkeys: [], totp: true } });
      expect((await client.cp('/me/totp', { method: 'DELETE' })).status).toBe(409);
      const device = createSoftAuthenticator();
      const add = (await client.cp('/me/passkeys/options', { method: 'POST' })).json<{
        flowId: string;
        options: never;
      }>();
      const added = await client.cp('/me/passkeys/verify', {
        method: 'POST',
        body: { flowId: add.flowId, response: device.register(add.options, origin()), name: 'Laptop' },
      });
      expect(added.json()).toMatchObject({ name: 'Laptop' });
    });
  });

  describe('step-up before changing factors', () => {
    const STALE = STEP_UP_TTL_MS + 1000;
    type ErrorBody = { error: { code: string } };

    /** Everything that changes factors, as a script holding the session cookie would try it. */
    async function tryTakeover(client: ReturnType<typeof createCookieClient>) {
      const me = (await client.cp('/me')).json<{ factors: { passkeys: { id: string }[] } }>();
      const passkeyId = me.factors.passkeys[0]?.id ?? 'none';
      return {
        totp: await client.cp('/me/totp/options', { method: 'POST' }),
        passkey: await client.cp('/me/passkeys/options', { method: 'POST' }),
        codes: await client.cp('/me/recovery-codes', { method: 'POST' }),
        removeTotp: await client.cp('/me/totp', { method: 'DELETE' }),
        removePasskey: await client.cp(`/me/passkeys/${encodeURIComponent(passkeyId)}`, { method: 'DELETE' }),
      };
    }

    it('refuses a session without a fresh proof: no re-enrolled TOTP, no added passkey, no recovery codes', async () => {
      const { client, secret } = await signUpWithTotp('yuri');
      now += STALE; // signed in a while ago: the session is good, its proof is not fresh
      client.dropCookie(client.control, 'mx_access');
      expect((await client.cp('/me')).status).toBe(200); // refreshed: a new token, not a new proof
      for (const [what, r] of Object.entries(await tryTakeover(client))) {
        expect(r.status, what).toBe(403);
        expect(r.json<ErrorBody>().error.code, what).toBe('step_up_required');
      }
      // Finishing a setup needs a flow that only a fresh session can start.
      const forged = await client.cp('/me/totp/verify', {
        method: 'POST',
        body: { flowId: 'made-up', code: totpCodeAt(secret, now) },
      });
      expect(forged.status).toBe(400);
      expect((await client.cp('/me')).json()).toMatchObject({
        factors: { totp: true, passkeys: [] },
        recoveryCodesLeft: 10,
      });
      // The old secret still signs in: nothing was replaced.
      now += 60_000;
      const again = await createCookieClient(t.port).cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'yuri', code: totpCodeAt(secret, now) },
      });
      expect(again.status).toBe(200);
    });

    it('lets the session re-enrol TOTP and make new recovery codes after a step-up with a TOTP code', async () => {
      const { client, secret } = await signUpWithTotp('zora');
      now += STALE;
      expect((await client.cp('/me/totp/options', { method: 'POST' })).status).toBe(403);
      const wrong = await client.cp('/me/step-up/totp', { method: 'POST', body: { code: '000000' } });
      expect(wrong.status).toBe(401);
      expect((await client.cp('/me/totp/options', { method: 'POST' })).status).toBe(403);
      const proof = await client.cp('/me/step-up/totp', {
        method: 'POST',
        body: { code: totpCodeAt(secret, now) },
      });
      expect(proof.status).toBe(200);
      expect(Date.parse(proof.json<{ freshUntil: string }>().freshUntil)).toBe(now + STEP_UP_TTL_MS);
      // The same code cannot be used twice, for a step-up either.
      const replay = await createCookieClient(t.port).cp('/auth/login/totp', {
        method: 'POST',
        body: { handle: 'zora', code: totpCodeAt(secret, now) },
      });
      expect(replay.status).toBe(401);

      const setup = (await client.cp('/me/totp/options', { method: 'POST' })).json<{
        flowId: string;
        secret: string;
      }>();
      const enrolled = await client.cp('/me/totp/verify', {
        method: 'POST',
        body: { flowId: setup.flowId, code: totpCodeAt(setup.secret, now) },
      });
      expect(enrolled.status).toBe(201);
      const codes = await client.cp('/me/recovery-codes', { method: 'POST' });
      expect(codes.status).toBe(201);
      expect(codes.json<{ recoveryCodes: string[] }>().recoveryCodes).toHaveLength(10);
      // The window closes again.
      now += STALE;
      expect((await client.cp('/me/recovery-codes', { method: 'POST' })).status).toBe(403);
    });

    it('steps up with a passkey, or with a recovery code, then adds a passkey', async () => {
      const { client, device, recoveryCodes } = await signUpWithPasskey('ayla');
      now += STALE;
      const start = await client.cp('/me/step-up/options', { method: 'POST' });
      const { methods, flowId, options } = start.json<{
        methods: Record<string, boolean>;
        flowId: string;
        options: never;
      }>();
      expect(methods).toEqual({ passkey: true, totp: false, recovery: true });
      // An assertion for another origin does not count.
      const elsewhere = await client.cp('/me/step-up/passkey', {
        method: 'POST',
        body: { flowId, response: device.assert(options, `http://ayla.localhost:${t.port}`) },
      });
      expect(elsewhere.status).toBe(401);
      expect((await client.cp('/me/passkeys/options', { method: 'POST' })).status).toBe(403);
      const again = (await client.cp('/me/step-up/options', { method: 'POST' })).json<{
        flowId: string;
        options: never;
      }>();
      const proof = await client.cp('/me/step-up/passkey', {
        method: 'POST',
        body: { flowId: again.flowId, response: device.assert(again.options, origin()) },
      });
      expect(proof.status).toBe(200);
      const add = (await client.cp('/me/passkeys/options', { method: 'POST' })).json<{
        flowId: string;
        options: never;
      }>();
      const added = await client.cp('/me/passkeys/verify', {
        method: 'POST',
        body: { flowId: add.flowId, response: createSoftAuthenticator().register(add.options, origin()) },
      });
      expect(added.status).toBe(201);

      now += STALE;
      expect((await client.cp('/me/recovery-codes', { method: 'POST' })).status).toBe(403);
      const recovery = await client.cp('/me/step-up/recovery', {
        method: 'POST',
        body: { code: recoveryCodes[3] },
      });
      expect(recovery.status).toBe(200);
      expect((await client.cp('/me')).json()).toMatchObject({ recoveryCodesLeft: 9 });
      expect((await client.cp('/me/recovery-codes', { method: 'POST' })).status).toBe(201);
    });

    it('refuses a proof made in another session, or one that has expired', async () => {
      const { client: laptop, secret } = await signUpWithTotp('bea');
      now += 60_000;
      const phone = createCookieClient(t.port);
      expect(
        (
          await phone.cp('/auth/login/totp', {
            method: 'POST',
            body: { handle: 'bea', code: totpCodeAt(secret, now) },
          })
        ).status,
      ).toBe(200);
      now += STALE;
      now += 30_000;
      expect(
        (await phone.cp('/me/step-up/totp', { method: 'POST', body: { code: totpCodeAt(secret, now) } }))
          .status,
      ).toBe(200);
      expect((await phone.cp('/me/recovery-codes', { method: 'POST' })).status).toBe(201);
      // The laptop's session (same account, another family) gained nothing from the phone's proof.
      const other = await laptop.cp('/me/recovery-codes', { method: 'POST' });
      expect(other.status).toBe(403);
      expect(other.json<ErrorBody>().error.code).toBe('step_up_required');
      // And the phone's proof runs out.
      now += STALE;
      expect((await phone.cp('/me/recovery-codes', { method: 'POST' })).status).toBe(403);
    });

    it('limits step-up guesses like sign-in ones, and needs a session and our Origin', async () => {
      const { client, secret } = await signUpWithTotp('cleo');
      now += STALE;
      const valid = new Set([-30_000, 0, 30_000].map((d) => totpCodeAt(secret, now + d)));
      const wrong = Array.from({ length: 10 }, (_, i) => String(200000 + i)).filter((c) => !valid.has(c));
      for (const code of wrong.slice(0, 5))
        expect((await client.cp('/me/step-up/totp', { method: 'POST', body: { code } })).status).toBe(401);
      const slowed = await client.cp('/me/step-up/totp', {
        method: 'POST',
        body: { code: totpCodeAt(secret, now) },
      });
      expect(slowed.status).toBe(429);
      expect(Number(slowed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const anonymous = await createCookieClient(t.port).cp('/me/step-up/totp', {
        method: 'POST',
        body: { code: totpCodeAt(secret, now) },
      });
      expect(anonymous.status).toBe(401);
      const crossSite = await client.cp('/me/step-up/totp', {
        method: 'POST',
        body: { code: totpCodeAt(secret, now) },
        headers: { origin: `http://mallory.localhost:${t.port}` },
      });
      expect(crossSite.status).toBe(403);
      const huge = await client.cp('/me/step-up/passkey', {
        method: 'POST',
        body: { flowId: 'x', response: { id: 'x'.repeat(64 * 1024) } },
      });
      expect(huge.status).toBe(413);
      now += 2000; // the wait is over: the right code works
      expect(
        (await client.cp('/me/step-up/totp', { method: 'POST', body: { code: totpCodeAt(secret, now) } }))
          .status,
      ).toBe(200);
    });
  });

  describe('the bridge to an instance', () => {
    it("opens the owner's instance signed in: the router swaps the token for an instance pass, which goes on to the gateway alone", async () => {
      const { client } = await signUpWithTotp('quinn');
      await waitRunning('quinn');
      const url = await openInstance(client, 'quinn');
      const host = url.host;
      const landed = await client.to(host, `${url.pathname}${url.search}`);
      expect(landed.status).toBe(303);
      expect(landed.headers.location).toBe('/');
      expect(landed.headers['set-cookie']?.[0]).toMatch(
        /^mx_pass=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/,
      );
      client.setCookie(host, 'app_pref', 'dark'); // a cookie of the instance's own
      const pass = client.cookies(host).get('mx_pass')!;
      const seen = (await client.to(host, '/headers')).json<{ headers: Record<string, string> }>().headers;
      // The gateway verifies the pass itself (the native edge sends it there directly): no token
      // of the instance's is handed over, and the pass is signed for this host with its key.
      expect(seen.authorization).toBeUndefined();
      const check = await verifyInstancePass(pass, {
        key: instancePassKey((await t.platform.access.instanceToken('quinn'))!),
        host,
      });
      expect(check).toMatchObject({ ok: true, claims: { role: 'user' } });
      // The platform's cookies never reach the container; the instance's own and its pass do.
      expect(seen.cookie).toBe(`app_pref=dark; mx_pass=${pass}`);
    });

    it('sends a browser whose pass ran out through the control plane and back to the same page', async () => {
      const { client } = await signUpWithTotp('ursula');
      await waitRunning('ursula');
      const host = `ursula.localhost:${t.port}`;
      const url = await openInstance(client, 'ursula');
      await client.to(host, `${url.pathname}${url.search}`);
      now += 61 * 60_000; // past the pass's hour; the control-plane session still holds
      const html = { headers: { accept: 'text/html' } };
      const out = await client.to(host, '/notes?x=1', html);
      expect(out.status).toBe(302);
      expect(out.headers.location).toBe(
        `http://localhost:${t.port}/open/ursula?next=${encodeURIComponent('/notes?x=1')}`,
      );
      const open = await client.cp('/open/ursula?next=%2Fnotes%3Fx%3D1');
      expect(open.status).toBe(302);
      const bridge = new URL(open.headers.location!);
      expect(bridge.host).toBe(host);
      const back = await client.to(host, `${bridge.pathname}${bridge.search}`);
      expect(back.status).toBe(303);
      expect(back.headers.location).toBe('/notes?x=1');
      expect((await client.to(host, '/headers')).status).toBe(200);
      // Never to another site, whatever `next` says.
      const evil = new URL((await client.cp('/open/ursula?next=%2F%2Fevil.example%2F')).headers.location!);
      const landed = await client.to(host, `${evil.pathname}${evil.search}`);
      expect(landed.headers.location).toBe('/');
      // Someone else's instance: refused; signed out: sign in first.
      expect((await client.cp('/open/quinn')).status).toBe(403);
      const stranger = createCookieClient(t.port);
      const signIn = await stranger.cp('/open/ursula?next=%2F');
      expect(signIn.status).toBe(302);
      expect(signIn.headers.location).toBe('/login?next=ursula');
    });

    it('refuses a bridge token replayed, expired, or used on another host', async () => {
      const { client } = await signUpWithTotp('rosa');
      await waitRunning('rosa');
      const url = await openInstance(client, 'rosa');
      const path = `${url.pathname}${url.search}`;
      const elsewhere = createCookieClient(t.port);
      expect((await elsewhere.to(`bob.localhost:${t.port}`, path)).status).toBe(403);
      expect((await elsewhere.to(`rosa.localhost:${t.port}`, path)).status).toBe(403); // spent by the try on bob's host
      const fresh = await openInstance(client, 'rosa');
      now += 31_000;
      expect((await client.to(fresh.host, `${fresh.pathname}${fresh.search}`)).status).toBe(403);
      const third = await openInstance(client, 'rosa');
      expect((await client.to(third.host, `${third.pathname}${third.search}`)).status).toBe(303);
      expect((await elsewhere.to(third.host, `${third.pathname}${third.search}`)).status).toBe(403);
    });

    it("keeps Bob out of Alice's instance, however he holds his own credentials", async () => {
      const alice = await signUpWithTotp('sam');
      const bob = await signUpWithTotp('tina');
      await waitRunning('sam');
      await waitRunning('tina');
      const samHost = `sam.localhost:${t.port}`;
      const tinaHost = `tina.localhost:${t.port}`;
      // Bob asks the control plane for a way into Alice's: refused.
      const r = await bob.client.cp('/admin/instances/sam/open', { method: 'POST' });
      expect(r.status).toBe(403);
      // Bob takes his own instance session cookie to Alice's host: refused.
      const own = await openInstance(bob.client, 'tina');
      await bob.client.to(tinaHost, `${own.pathname}${own.search}`);
      const bobsCookie = bob.client.cookies(tinaHost).get('mx_pass')!;
      bob.client.setCookie(samHost, 'mx_pass', bobsCookie);
      expect((await bob.client.to(samHost, '/headers')).status).toBe(401);
      expect((await bob.client.to(samHost, '/', { headers: { accept: 'text/html' } })).status).toBe(302);
      // Bob's control-plane cookies on Alice's host: refused (and never forwarded).
      for (const [k, v] of bob.client.cookies()) bob.client.setCookie(samHost, k, v);
      expect((await bob.client.to(samHost, '/headers')).status).toBe(401);
      // Bob's instance token on Alice's host: refused.
      expect(
        (
          await bob.client.to(samHost, '/headers', {
            headers: { authorization: `Bearer ${await t.platform.access.instanceToken('tina')}` },
          })
        ).status,
      ).toBe(401);
      // And Alice herself gets in.
      const hers = await openInstance(alice.client, 'sam');
      expect((await alice.client.to(samHost, `${hers.pathname}${hers.search}`)).status).toBe(303);
      expect((await alice.client.to(samHost, '/headers')).status).toBe(200);
    });

    it("refuses a write to the instance that another tenant's page makes with the owner's cookie", async () => {
      const { client } = await signUpWithTotp('wendy');
      await waitRunning('wendy');
      const host = `wendy.localhost:${t.port}`;
      const url = await openInstance(client, 'wendy');
      await client.to(host, `${url.pathname}${url.search}`);
      const from = (origin: string | undefined) =>
        client.to(host, '/upload', {
          method: 'POST',
          body: 'x',
          headers: origin ? { origin } : { origin: '' },
        });
      expect((await from(`http://mallory.localhost:${t.port}`)).status).toBe(403);
      expect((await from(undefined)).status).toBe(403);
      expect((await from(`http://${host}`)).status).toBe(200);
      // Reading stays open to the owner's browser from anywhere it navigates.
      expect(
        (await client.to(host, '/headers', { headers: { origin: `http://mallory.localhost:${t.port}` } }))
          .status,
      ).toBe(200);
    });

    it('ends instance sessions when their control-plane session ends', async () => {
      const { client } = await signUpWithTotp('uma');
      await waitRunning('uma');
      const host = `uma.localhost:${t.port}`;
      const url = await openInstance(client, 'uma');
      await client.to(host, `${url.pathname}${url.search}`);
      expect((await client.to(host, '/headers')).status).toBe(200);
      await client.cp('/auth/logout', { method: 'POST' });
      expect((await client.to(host, '/headers')).status).toBe(401);
    });

    it('lets an admin account open any instance, and admin routes only to admins', async () => {
      const admin = await signUpWithTotp('root-admin');
      const user = await signUpWithTotp('vera');
      await waitRunning('vera');
      expect((await admin.client.cp('/containers')).status).toBe(403); // nobody is an admin by name
      const promoted = await t.admin('PUT', '/admin/users/root-admin/role', { role: 'admin' });
      expect(promoted.json()).toEqual({ handle: 'root-admin', role: 'admin' });
      expect((await user.client.cp('/containers')).status).toBe(403);
      expect((await admin.client.cp('/containers')).status).toBe(200);
      const r = await admin.client.cp('/admin/instances/vera/open', { method: 'POST' });
      const url = new URL(r.json<{ url: string }>().url);
      expect((await admin.client.to(url.host, `${url.pathname}${url.search}`)).status).toBe(303);
      expect((await admin.client.to(url.host, '/headers')).status).toBe(200);
      // Demoted: the very next request of the same session is a user's.
      await t.admin('PUT', '/admin/users/root-admin/role', { role: 'user' });
      expect((await admin.client.cp('/containers')).status).toBe(403);
      expect((await admin.client.to(url.host, '/headers')).status).toBe(401);
      // Only an admin may change roles; an unknown account is a clear 404.
      expect(
        (await user.client.cp('/admin/users/vera/role', { method: 'PUT', body: { role: 'admin' } })).status,
      ).toBe(403);
      expect((await t.admin('PUT', '/admin/users/nobody/role', { role: 'admin' })).status).toBe(404);
    });
  });
});
