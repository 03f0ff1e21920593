import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { totpCodeAt } from '../src/accounts/totp.ts';
import {
  aiProfileReply,
  feedReply,
  profileReply,
  SOCIAL_DEFAULTS,
  SOCIAL_INBOX_PATH,
  SOCIAL_LIMITS,
  type SocialDelivery,
  sendReply,
  socialSettings,
  usersReply,
} from '../src/api/contract/social.ts';
import { type CookieClient, createCookieClient } from './cookieClient.ts';
import { httpRequest, type Reply, startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/socialInstance.ts', import.meta.url));

type Feed = z.infer<typeof feedReply>;
type Users = z.infer<typeof usersReply>;

/**
 * The social API end to end on a real platform (real SQLite, real instance processes, the
 * instance API listener): the directory and profiles as published, the feed, settings and
 * blocks, and messages from one instance into another's inbox, with every refusal a sender
 * could provoke. The recipients are stand-in gateways at the wire (the delivery route and its
 * schema); the engine's starts are counted to show which reads wake nobody.
 */
describe('the social API', () => {
  let t: TestPlatform;
  const starts: string[] = [];
  const tokens: Record<string, string> = {};
  let dave: CookieClient;

  /** A call to the instance API listener with an instance's token. */
  function asInstance(handle: string | null, method: string, path: string, body?: unknown): Promise<Reply> {
    const url = new URL(t.platform.instanceApiUrl()!);
    const token = handle === null ? undefined : (tokens[handle] ?? handle);
    return httpRequest(Number(url.port), {
      method,
      path,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: body as object,
    });
  }
  const send = (from: string, to: string, body: unknown) =>
    asInstance(from, 'POST', `/instance/v1/social/send/${to}`, body);
  /** What the recipient's gateway got, read through the router with its own token. */
  async function inbox(handle: string): Promise<SocialDelivery[]> {
    const r = await t.instance(handle, {
      path: SOCIAL_INBOX_PATH,
      headers: { authorization: `Bearer ${tokens[handle]}` },
    });
    expect(r.status, r.text).toBe(200);
    return r.json<{ messages: SocialDelivery[] }>().messages;
  }
  function parsed<S extends z.ZodType>(schema: S, r: Reply, status = 200): z.infer<S> {
    expect(r.status, r.text).toBe(status);
    const result = schema.safeParse(r.json());
    expect(result.error?.issues ?? []).toEqual([]);
    return result.data as z.infer<S>;
  }
  const startsOf = (handle: string) => starts.filter((h) => h === handle).length;

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { TRUST_PROXY: 'true' },
      wrapRuntime: (driver) => ({
        ...driver,
        start: async (id) => {
          const r = await driver.start(id);
          starts.push(r.handle);
          return r;
        },
        resume: async (id) => {
          const r = await driver.resume(id);
          starts.push(r.handle);
          return r;
        },
      }),
    });
    for (const h of ['alice', 'bob', 'carol', 'erin']) tokens[h] = await t.provision(h);
    // Dave signs up in a browser: his session reads the social API.
    dave = createCookieClient(t.port);
    const start = (
      await dave.cp('/auth/signup/totp/options', { method: 'POST', body: { handle: 'dave' } })
    ).json<{
      flowId: string;
      secret: string;
    }>();
    const done = await dave.cp('/auth/signup/totp/verify', {
      method: 'POST',
      body: { flowId: start.flowId, code: totpCodeAt(start.secret, Date.now()) },
    });
    expect(done.status, done.text).toBe(201);
    t.track('dave');
    for (let i = 0; i < 400 && t.platform.store.get('dave')?.state !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 50));
    tokens.dave = t.platform.access.instanceToken('dave')!;
  });
  afterAll(() => t?.destroy());

  it('refuses anonymous readers on both doors, and a token that is no instance', async () => {
    for (const path of [
      '/social/users',
      '/social/feed',
      '/social/profiles/alice',
      '/social/profiles/alice/ai',
      '/me/social',
    ]) {
      const r = await t.request({ path });
      expect(r.status, path).toBe(401);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('signed_out');
    }
    expect((await asInstance(null, 'GET', '/instance/v1/social/users')).status).toBe(401);
    expect((await asInstance('mxi_not-a-token', 'GET', '/instance/v1/social/users')).status).toBe(401);
  });

  it('serves the profile an instance published, with its date, to people and instances', async () => {
    const published = await asInstance('alice', 'PUT', '/instance/v1/social/profile', {
      profile: '# Alice\n\nI grow tomatoes.',
      aiProfile: "# Alice's AI\n\nAsk me about tomatoes.",
      displayName: 'Alice A.',
      avatar: 'data:image/png;base64,iVBORw0KGgo=',
    });
    expect(published.status, published.text).toBe(200);
    expect(published.json()).toMatchObject({ handle: 'alice', changed: true });

    const profile = parsed(profileReply, await dave.cp('/social/profiles/alice'));
    expect(profile).toMatchObject({
      handle: 'alice',
      displayName: 'Alice A.',
      markdown: '# Alice\n\nI grow tomatoes.',
    });
    expect(Date.parse(profile.publishedAt!)).toBeGreaterThan(Date.now() - 60_000);
    const ai = parsed(
      aiProfileReply,
      await asInstance('bob', 'GET', '/instance/v1/social/profiles/alice/ai'),
    );
    expect(ai.markdown).toContain('Ask me about tomatoes');

    // A boot publishes the same again: nothing changed, the feed is not told twice.
    const again = await asInstance('alice', 'PUT', '/instance/v1/social/profile', {
      profile: '# Alice\n\nI grow tomatoes.',
    });
    expect(again.json()).toMatchObject({ changed: false, publishedAt: profile.publishedAt });
    const feed = parsed(feedReply, await dave.cp('/social/feed?limit=100'));
    expect(feed.events.filter((e) => e.kind === 'profile_updated' && e.handle === 'alice')).toHaveLength(1);
    expect(feed.events.filter((e) => e.kind === 'signup').map((e) => e.handle)).toEqual(
      expect.arrayContaining(['alice', 'bob', 'dave']),
    );

    // Not one user's to publish for another: the body has no handle to claim.
    const claim = await asInstance('bob', 'PUT', '/instance/v1/social/profile', {
      handle: 'alice',
      profile: 'mine',
    });
    expect(claim.status).toBe(400);
    expect(parsed(profileReply, await dave.cp('/social/profiles/alice')).markdown).toContain('tomatoes');
    // SVG could carry script onto the control plane's origin: refused.
    const svg = await asInstance('bob', 'PUT', '/instance/v1/social/profile', {
      avatar: 'data:image/svg+xml;base64,PHN2Zz4=',
    });
    expect(svg.status).toBe(400);
    const huge = await asInstance('bob', 'PUT', '/instance/v1/social/profile', {
      profile: 'x'.repeat(SOCIAL_LIMITS.profileChars + 1),
    });
    expect(huge.status).toBe(400);
  });

  it('lists users newest first, page by page, with who is online, and never wakes anyone to do it', async () => {
    await t.admin('POST', '/containers/alice/stop');
    const before = starts.length;
    t.platform.activity.touch('bob');

    const seen: Users['users'] = [];
    let cursor: string | null = null;
    do {
      const page: Users = parsed(
        usersReply,
        await dave.cp(`/social/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((u) => u.handle)).toEqual(['dave', 'erin', 'carol', 'bob', 'alice']);
    const alice = seen.find((u) => u.handle === 'alice')!;
    expect(alice).toMatchObject({
      displayName: 'Alice A.',
      online: false,
      avatar: 'data:image/png;base64,iVBORw0KGgo=',
    });
    expect(seen.find((u) => u.handle === 'bob')!.online).toBe(true);

    // Every read about a sleeping instance, on both doors: not one start.
    await dave.cp('/social/profiles/alice');
    await dave.cp('/social/profiles/alice/ai');
    await dave.cp('/social/feed');
    await asInstance('bob', 'GET', '/instance/v1/social/profiles/alice');
    await asInstance('bob', 'GET', '/instance/v1/social/users');
    expect(starts.length).toBe(before);
    expect(t.platform.store.get('alice')?.state).toBe('stopped');

    const bad = await dave.cp('/social/users?cursor=not*a*cursor');
    expect(bad.status).toBe(400);
    expect((await dave.cp('/social/users?limit=100000')).status).toBe(400);
    expect((await dave.cp('/social/profiles/Alice')).status).toBe(400);
    expect((await dave.cp('/social/profiles/nobody-here')).json()).toMatchObject({
      error: { code: 'not_found' },
    });
  });

  it('delivers a message into a sleeping recipient, waking it, with the sender stamped from the token', async () => {
    expect(t.platform.store.get('alice')?.state).toBe('stopped');
    const woke = startsOf('alice');
    const r = await send('bob', 'alice', { text: 'Hello from Bob’s AI: tomatoes?', from: 'mallory' });
    const reply = parsed(sendReply, r);
    expect(reply).toMatchObject({ status: 'delivered', from: 'bob', to: 'alice' });
    expect(startsOf('alice')).toBe(woke + 1);

    const got = await inbox('alice');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      id: reply.id,
      from: 'bob',
      fromDisplayName: 'bob',
      to: 'alice',
      text: 'Hello from Bob’s AI: tomatoes?',
      inReplyTo: null,
      recipient: { autoReply: true, dailyAutoReplyCap: SOCIAL_DEFAULTS.dailyAutoReplyCap },
    });
    expect(JSON.stringify(got)).not.toContain('mallory');

    // The feed says who talked and when, never what.
    const feed = await dave.cp('/social/feed');
    const events = parsed(feedReply, feed).events;
    expect(events[0]).toMatchObject({ kind: 'ai_conversation', handle: 'bob', with: 'alice' });
    expect(feed.text).not.toContain('tomatoes?');
  });

  it('carries the answer back the same way, tied to the message it answers', async () => {
    const [original] = await inbox('alice');
    const r = await send('alice', 'bob', { text: 'Yes, tomatoes!', inReplyTo: original!.id });
    parsed(sendReply, r);
    const got = (await inbox('bob')).at(-1)!;
    expect(got).toMatchObject({ from: 'alice', text: 'Yes, tomatoes!', inReplyTo: original!.id });
    // Only a message they sent you can be answered.
    const forged = await send('carol', 'bob', { text: 'me too', inReplyTo: original!.id });
    expect(forged.status).toBe(400);
    expect(forged.json()).toMatchObject({ error: { code: 'invalid_reply' } });
    // One feed line for the conversation, not one per message.
    const lines = parsed(feedReply, await dave.cp('/social/feed?limit=100')).events.filter(
      (e) => e.kind === 'ai_conversation',
    );
    expect(lines).toHaveLength(1);
  });

  it('refuses a blocked sender, an unknown recipient and oversized text with clear 4xx, saying nothing of anyone else', async () => {
    const blocked = parsed(
      socialSettings,
      await asInstance('alice', 'PUT', '/instance/v1/social/blocks/carol'),
    );
    expect(blocked.blocks).toEqual(['carol']);
    const r = await send('carol', 'alice', { text: 'let me in' });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ error: { code: 'blocked' } });
    expect(r.text).not.toMatch(/Alice A\.|tomato|running|stopped/);
    expect((await inbox('alice')).map((m) => m.text)).not.toContain('let me in');

    for (const to of ['nobody-here', 'NOT_A_HANDLE', 'x']) {
      const u = await send('carol', to, { text: 'hi' });
      expect(u.status, to).toBe(404);
      expect(u.json()).toMatchObject({ error: { code: 'unknown_recipient' } });
    }

    const long = await send('carol', 'bob', { text: 'x'.repeat(SOCIAL_LIMITS.textChars + 1) });
    expect(long.status).toBe(413);
    expect(long.json()).toMatchObject({ error: { code: 'too_large' } });
    const body = await send('carol', 'bob', { text: 'x'.repeat(20_000) });
    expect(body.status).toBe(413);
    expect((await send('carol', 'bob', { text: '   ' })).status).toBe(400);
    expect((await send('carol', 'carol', { text: 'me' })).json()).toMatchObject({ error: { code: 'self' } });

    const unblocked = parsed(
      socialSettings,
      await asInstance('alice', 'DELETE', '/instance/v1/social/blocks/carol'),
    );
    expect(unblocked.blocks).toEqual([]);
  });

  it('limits how fast one sender may send, counting refused attempts too', async () => {
    const answers: number[] = [];
    for (let i = 0; i < SOCIAL_LIMITS.sendsPerMinute + 1; i++)
      answers.push((await send('erin', 'no-such-user', { text: `probe ${i}` })).status);
    expect(answers.slice(0, -1).every((s) => s === 404)).toBe(true);
    const limited = await send('erin', 'bob', { text: 'one more' });
    expect(limited.status).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another sender is not slowed by erin.
    expect((await send('bob', 'carol', { text: 'still here' })).status).toBe(200);
  });

  it('says "undeliverable" when the recipient does not take it, and records no conversation', async () => {
    const r = await send('dave', 'carol', { text: '[refuse] this one' });
    expect(r.status).toBe(503);
    expect(r.json()).toMatchObject({ error: { code: 'undeliverable' } });
    expect(r.headers['retry-after']).toBeDefined();
    const lines = parsed(feedReply, await dave.cp('/social/feed?limit=100')).events;
    expect(lines.some((e) => e.kind === 'ai_conversation' && e.handle === 'dave')).toBe(false);
  });

  it('keeps an undiscoverable user out of the users and the feed, but lets them see themselves', async () => {
    const change = await asInstance('carol', 'PUT', '/instance/v1/social/settings', { discoverable: false });
    expect(parsed(socialSettings, change).discoverable).toBe(false);

    const users = parsed(usersReply, await dave.cp('/social/users?limit=100')).users.map((u) => u.handle);
    expect(users).not.toContain('carol');
    const feed = await dave.cp('/social/feed?limit=100');
    expect(parsed(feedReply, feed).events.length).toBeGreaterThan(0);
    expect(feed.text).not.toContain('carol');
    expect((await dave.cp('/social/profiles/carol')).status).toBe(404);
    expect((await dave.cp('/social/profiles/carol/ai')).status).toBe(404);
    expect((await asInstance('bob', 'GET', '/instance/v1/social/profiles/carol')).status).toBe(404);

    const own = parsed(usersReply, await asInstance('carol', 'GET', '/instance/v1/social/users?limit=100'));
    expect(own.users.map((u) => u.handle)).toContain('carol');
    expect((await asInstance('carol', 'GET', '/instance/v1/social/profiles/carol')).status).toBe(200);
  });

  it("lets each owner change only their own settings, from the dashboard's session or the instance's token", async () => {
    const mine = parsed(socialSettings, await dave.cp('/me/social'));
    expect(mine).toEqual({ ...SOCIAL_DEFAULTS, blocks: [] });
    const changed = await dave.cp('/me/social', {
      method: 'PUT',
      body: { autoReply: false, dailyAutoReplyCap: 3 },
    });
    expect(parsed(socialSettings, changed)).toMatchObject({ autoReply: false, dailyAutoReplyCap: 3 });
    expect((await dave.cp('/me/social', { method: 'PUT', body: { dailyAutoReplyCap: -1 } })).status).toBe(
      400,
    );
    expect(
      (await dave.cp('/me/social', { method: 'PUT', body: { handle: 'bob', autoReply: false } })).status,
    ).toBe(400);
    const noOrigin = await dave.cp('/me/social', {
      method: 'PUT',
      body: { autoReply: true },
      headers: { origin: 'http://evil.example' },
    });
    expect(noOrigin.status).toBe(403);
    // The instance reads what its owner set in the dashboard, and its deliveries carry it.
    expect(
      parsed(socialSettings, await asInstance('dave', 'GET', '/instance/v1/social/settings')),
    ).toMatchObject({
      autoReply: false,
      dailyAutoReplyCap: 3,
    });
    parsed(sendReply, await send('bob', 'dave', { text: 'hi dave' }));
    expect((await inbox('dave')).at(-1)).toMatchObject({
      recipient: { autoReply: false, dailyAutoReplyCap: 3 },
    });

    // Bob's token changes Bob's settings, whatever the path or body says; Dave's stay as they were.
    expect(
      (
        await asInstance('bob', 'PUT', '/instance/v1/social/settings', {
          handle: 'dave',
          discoverable: false,
        })
      ).status,
    ).toBe(400);
    await asInstance('bob', 'PUT', '/instance/v1/social/settings', { shareApps: false });
    expect(parsed(socialSettings, await dave.cp('/me/social'))).toMatchObject({
      shareApps: true,
      autoReply: false,
    });

    // Blocking from the dashboard is the same block list.
    parsed(socialSettings, await dave.cp('/me/social/blocks/bob', { method: 'PUT' }));
    const refused = await send('bob', 'dave', { text: 'again' });
    expect(refused.json()).toMatchObject({ error: { code: 'blocked' } });
    expect((await dave.cp('/me/social/blocks/dave', { method: 'PUT' })).json()).toMatchObject({
      error: { code: 'self' },
    });
    expect(
      parsed(socialSettings, await dave.cp('/me/social/blocks/bob', { method: 'DELETE' })).blocks,
    ).toEqual([]);
  });

  it('puts shared app builds in the feed only when their owner shares them', async () => {
    expect(
      (
        await asInstance('alice', 'POST', '/instance/v1/social/apps', {
          name: 'tomato-log',
          title: 'Tomato log',
        })
      ).json(),
    ).toEqual({
      recorded: true,
    });
    // Bob turned sharing off above.
    expect(
      (await asInstance('bob', 'POST', '/instance/v1/social/apps', { name: 'secret-app' })).json(),
    ).toEqual({
      recorded: false,
    });
    expect((await asInstance('alice', 'POST', '/instance/v1/social/apps', { name: '../etc' })).status).toBe(
      400,
    );
    const events = parsed(feedReply, await dave.cp('/social/feed?limit=100')).events;
    expect(events.find((e) => e.kind === 'app_shared')).toMatchObject({
      handle: 'alice',
      app: { name: 'tomato-log', title: 'Tomato log' },
    });
    expect(JSON.stringify(events)).not.toContain('secret-app');
  });

  it('walks the feed page by page, newest first, to its end', async () => {
    const all = parsed(feedReply, await dave.cp('/social/feed?limit=100')).events;
    const walked: Feed['events'] = [];
    let cursor: string | null = null;
    do {
      const page: Feed = parsed(
        feedReply,
        await dave.cp(`/social/feed?limit=3${cursor ? `&cursor=${cursor}` : ''}`),
      );
      walked.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor);
    expect(walked.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const ids = walked.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });

  it('forgets a destroyed instance: gone from the users, its profile and the feed', async () => {
    expect((await t.admin('DELETE', '/containers/erin')).status).toBe(200);
    const users = parsed(usersReply, await dave.cp('/social/users?limit=100')).users.map((u) => u.handle);
    expect(users).not.toContain('erin');
    expect((await dave.cp('/social/feed?limit=100')).text).not.toContain('erin');
    expect((await dave.cp('/social/profiles/erin')).status).toBe(404);
  });
});
