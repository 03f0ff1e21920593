import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type FeedEvent,
  profilePublish,
  SOCIAL_DEFAULTS,
  SOCIAL_INBOX_PATH,
  type SocialDelivery,
  type SocialSettings,
  sendBody,
  settingsChange,
  socialDelivery,
  socialSettings,
} from '@matrixos/platform/social';

/** A user the stand-in knows besides the instance under test, with what their AI answers. */
export interface Peer {
  handle: string;
  displayName: string;
  profile: string;
  aiProfile: string;
  online: boolean;
  /** What their AI says back to a message (after `replyDelayMs`); null: it does not answer. */
  answer: ((text: string) => string) | null;
}

/**
 * The platform's instance API for one instance, at the HTTP level, speaking the platform's own
 * contract schemas (`@matrixos/platform/social`): requests are parsed with them, deliveries into
 * the gateway are built with them. Other users are scripted `Peer`s.
 */
export async function startSocialPlatform(o: {
  /** The instance under test: its handle and token (the platform's view of it). */
  handle: string;
  token: string;
  peers: Peer[];
  replyDelayMs?: number;
}) {
  let gatewayUrl = '';
  const published: Record<string, unknown>[] = [];
  const sent: { to: string; text: string; inReplyTo: string | null }[] = [];
  const deliveries: { delivery: SocialDelivery; status: number }[] = [];
  let settings: SocialSettings = { ...SOCIAL_DEFAULTS, blocks: [] };
  const feed: FeedEvent[] = o.peers.map((p, i) => ({
    id: `ev${i}`,
    handle: p.handle,
    kind: 'signup',
    at: new Date(Date.UTC(2026, 11, 1, 12, i)).toISOString(),
  }));
  const id = () => `smsg_${randomBytes(16).toString('hex').slice(0, 21)}`;

  async function deliver(from: Peer, text: string, inReplyTo: string | null): Promise<void> {
    const delivery = socialDelivery.parse({
      id: id(),
      from: from.handle,
      fromDisplayName: from.displayName,
      to: o.handle,
      text,
      sentAt: new Date().toISOString(),
      inReplyTo,
      recipient: { autoReply: settings.autoReply, dailyAutoReplyCap: settings.dailyAutoReplyCap },
    });
    const res = await fetch(gatewayUrl + SOCIAL_INBOX_PATH, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(delivery),
    });
    deliveries.push({ delivery, status: res.status });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const refuse = (status: number, code: string, message: string) =>
        send(status, { error: { code, message } });
      if (req.headers.authorization !== `Bearer ${o.token}`) return refuse(401, 'unauthorized', 'no token');
      const url = new URL(req.url!, 'http://x');
      const path = url.pathname.replace(/^\/instance\/v1\/social/, '');
      let body: unknown = null;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null;
      } catch {
        return refuse(400, 'bad_body', 'not JSON');
      }
      const peer = (h: string) => o.peers.find((p) => p.handle === h);
      const profileMatch = /^\/profiles\/([a-z0-9-]+)(\/ai)?$/.exec(path);
      const blockMatch = /^\/blocks\/([a-z0-9-]+)$/.exec(path);
      const sendMatch = /^\/send\/([a-z0-9-]+)$/.exec(path);
      if (req.method === 'GET' && path === '/users') {
        return send(200, {
          users: o.peers.map((p) => ({
            handle: p.handle,
            displayName: p.displayName,
            avatar: null,
            online: p.online,
            joinedAt: '2026-12-01T12:00:00.000Z',
          })),
          nextCursor: null,
        });
      }
      if (req.method === 'GET' && path === '/feed')
        return send(200, { events: [...feed].reverse(), nextCursor: null });
      if (req.method === 'GET' && profileMatch) {
        const m = profileMatch;
        const p = peer(m[1]!);
        if (!p) return refuse(404, 'not_found', 'no such user');
        const at = '2026-12-01T12:00:00.000Z';
        return m[2]
          ? send(200, { handle: p.handle, markdown: p.aiProfile, publishedAt: at })
          : send(200, {
              handle: p.handle,
              displayName: p.displayName,
              avatar: null,
              online: p.online,
              markdown: p.profile,
              publishedAt: at,
            });
      }
      if (req.method === 'PUT' && path === '/profile') {
        const parsed = profilePublish.safeParse(body);
        if (!parsed.success) return refuse(400, 'bad_body', parsed.error.message);
        published.push(parsed.data);
        return send(200, { handle: o.handle, changed: true, publishedAt: new Date().toISOString() });
      }
      if (req.method === 'GET' && path === '/settings') return send(200, settings);
      if (req.method === 'PUT' && path === '/settings') {
        const parsed = settingsChange.safeParse(body);
        if (!parsed.success) return refuse(400, 'bad_body', parsed.error.message);
        settings = socialSettings.parse({ ...settings, ...parsed.data });
        return send(200, settings);
      }
      if (blockMatch) {
        const m = blockMatch;
        const blocks = new Set(settings.blocks);
        if (req.method === 'PUT') blocks.add(m[1]!);
        else blocks.delete(m[1]!);
        settings = { ...settings, blocks: [...blocks] };
        return send(200, settings);
      }
      if (req.method === 'POST' && sendMatch) {
        const m = sendMatch;
        const parsed = sendBody.safeParse(body);
        if (!parsed.success) return refuse(400, 'bad_body', parsed.error.message);
        const p = peer(m[1]!);
        if (!p) return refuse(404, 'unknown_recipient', 'no such user');
        sent.push({ to: p.handle, text: parsed.data.text, inReplyTo: parsed.data.inReplyTo ?? null });
        const messageId = id();
        // Their AI answers a message (never an answer), as the platform would deliver it.
        if (p.answer && !parsed.data.inReplyTo) {
          const answer = p.answer(parsed.data.text);
          // A gateway already gone (the test ended) is not this stand-in's failure.
          setTimeout(() => deliver(p, answer, messageId).catch(() => undefined), o.replyDelayMs ?? 300);
        }
        return send(200, {
          status: 'delivered',
          id: messageId,
          from: o.handle,
          to: p.handle,
          deliveredAt: new Date().toISOString(),
        });
      }
      return refuse(404, 'not_found', `no route ${req.method} ${path}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    published,
    sent,
    deliveries,
    settings: () => settings,
    /** Where deliveries go (the gateway's URL, known once it listens). */
    setGateway(u: string) {
      gatewayUrl = u;
    },
    /** A peer writes first: the platform delivers it into the instance. */
    deliver: (from: string, text: string) => deliver(o.peers.find((p) => p.handle === from)!, text, null),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
export type SocialPlatform = Awaited<ReturnType<typeof startSocialPlatform>>;
