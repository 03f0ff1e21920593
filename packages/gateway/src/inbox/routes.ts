import { limitBody, readJson, validationError } from '@matrixos/shared';
import { Hono } from 'hono';
import { listSchema, messageSchema } from '../contract/bodies.ts';
import type { EventBus } from '../events/bus.ts';
import type { StorageGuard } from '../storage/guard.ts';
import { type Inbox, MESSAGE_ID_PATTERN } from './store.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** `POST /api/message` (anyone holding the token: the owner, or the platform for a sender) and the owner's reading of it. */
export function inboxRoutes({
  inbox,
  bus,
  storage,
}: {
  inbox: Inbox;
  bus: EventBus;
  storage?: StorageGuard;
}): Hono {
  const app = new Hono();

  app.post('/api/message', limitBody(MAX_BODY_BYTES), async (c) => {
    const input = await readJson(c, messageSchema);
    // Senders are other people: their messages never eat into the home's reserve.
    await storage?.ensureRoom(Buffer.byteLength(input.text));
    const message = await inbox.append(input);
    bus.publish({ type: 'inbox.message', message });
    return c.json({ id: message.id, receivedAt: message.receivedAt }, 201);
  });

  app.get('/api/messages', async (c) => {
    const query = listSchema.safeParse(c.req.query());
    if (!query.success) throw validationError('invalid_query', 'invalid query parameters', query.error);
    const { since, limit } = query.data;
    const cursor = since === undefined || MESSAGE_ID_PATTERN.test(since) ? since : new Date(since);
    return c.json(await inbox.list({ since: cursor, limit }));
  });

  return app;
}
