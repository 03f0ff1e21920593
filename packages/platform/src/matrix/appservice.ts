import type { Logger } from '@matrixos/shared';
import { safeEqual } from '@matrixos/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { MatrixAccountStore } from './matrixAccountStore.ts';

const event = z.looseObject({
  type: z.string(),
  room_id: z.string().optional(),
  sender: z.string().optional(),
  state_key: z.string().optional(),
  content: z.looseObject({ membership: z.string().optional() }).optional(),
});
const transaction = z.object({ events: z.array(z.unknown()).max(10_000).default([]) });

/** Homeserver transactions are at most a few hundred events; more is not a homeserver. */
const MAX_TRANSACTION = 4 * 1024 * 1024;

/**
 * What a homeserver's events mean for sleeping instances: an invite for `@{x}_ai`, or a message
 * in a room `@{x}_ai` is in, wakes x. Pure: the caller keeps the room list and does the waking.
 */
export function wakesFor(
  events: unknown[],
  opts: { serverName: string; handlesIn: (roomId: string) => string[] },
): {
  wake: Set<string>;
  joined: [string, string][];
  left: [string, string][];
  /** AI-to-AI messages seen (sender's handle, recipient's handle), for the feed: never the content. */
  conversations: [string, string][];
} {
  const aiOf = new RegExp(
    `^@([a-z][a-z0-9-]*)_ai:${opts.serverName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
  );
  const wake = new Set<string>();
  const joined: [string, string][] = [];
  const left: [string, string][] = [];
  const conversations: [string, string][] = [];
  for (const raw of events) {
    const e = event.safeParse(raw);
    if (!e.success || !e.data.room_id) continue;
    const room = e.data.room_id;
    if (e.data.type === 'm.room.member' && e.data.state_key) {
      const handle = aiOf.exec(e.data.state_key)?.[1];
      if (!handle) continue;
      const membership = e.data.content?.membership;
      if (membership === 'invite' || membership === 'join') joined.push([room, handle]);
      else left.push([room, handle]);
      if (membership === 'invite') wake.add(handle);
    } else if (e.data.type === 'm.room.message' || e.data.type === 'm.room.encrypted') {
      const known = new Set([
        ...opts.handlesIn(room),
        ...joined.filter(([r]) => r === room).map(([, h]) => h),
      ]);
      const from = aiOf.exec(e.data.sender ?? '')?.[1];
      for (const handle of known) {
        if (handle === from) continue;
        wake.add(handle);
        if (from) conversations.push([from, handle]);
      }
    }
  }
  return { wake, joined, left, conversations };
}

/**
 * The platform as a Matrix application service (registered in the homeserver's config by
 * scripts/synapse.sh): the homeserver pushes every event of rooms an `@{x}_ai` is in, and the
 * platform wakes x if it sleeps, so a DM reaches a sleeping instance. Chosen over a sync loop
 * on the platform's side: it costs nothing while nothing happens, needs no stored access token
 * per user, and the homeserver retries a transaction until the platform takes it.
 */
export function appserviceRoutes(deps: {
  hsToken: string;
  serverName: string;
  rooms: MatrixAccountStore['rooms'];
  wake: (handle: string) => void;
  /** Two AIs exchanged a message (the feed shows who and when). */
  conversed?: (from: string, to: string) => void;
  log: Logger;
}) {
  const app = new Hono();
  const seen = new Set<string>();
  app.use('/_matrix/app/*', async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7) : c.req.query('access_token');
    if (!token) return c.json({ errcode: 'M_UNAUTHORIZED', error: 'no hs_token' }, 401);
    if (!safeEqual(token, deps.hsToken))
      return c.json({ errcode: 'M_FORBIDDEN', error: 'wrong hs_token' }, 403);
    await next();
  });
  app.put('/_matrix/app/v1/transactions/:txnId', async (c) => {
    const txnId = c.req.param('txnId');
    // The homeserver resends a transaction it did not see answered: handled once.
    if (seen.has(txnId)) return c.json({});
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_TRANSACTION)
      return c.json({ errcode: 'M_TOO_LARGE', error: 'transaction too large' }, 413);
    const parsed = transaction.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json({ errcode: 'M_BAD_JSON', error: 'expected {events: [...]}' }, 400);
    const { wake, joined, left, conversations } = wakesFor(parsed.data.events, {
      serverName: deps.serverName,
      handlesIn: deps.rooms.handlesIn,
    });
    for (const [room, handle] of joined) deps.rooms.add(room, handle);
    for (const [room, handle] of left) deps.rooms.remove(room, handle);
    for (const handle of wake) deps.wake(handle);
    for (const [from, to] of conversations) deps.conversed?.(from, to);
    seen.add(txnId);
    if (seen.size > 1000) seen.delete(seen.values().next().value as string);
    return c.json({});
  });
  // The homeserver asks whether the appservice owns a user or room alias: it owns none.
  app.get('/_matrix/app/v1/users/:userId', (c) =>
    c.json({ errcode: 'M_NOT_FOUND', error: 'no such user' }, 404),
  );
  app.get('/_matrix/app/v1/rooms/:alias', (c) =>
    c.json({ errcode: 'M_NOT_FOUND', error: 'no such room' }, 404),
  );
  app.post('/_matrix/app/v1/ping', (c) => c.json({}));
  return app;
}
