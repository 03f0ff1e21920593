import { HttpError, readJson, validationError } from '@matrixos/shared';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { listSchema, messageSchema } from '../contract/bodies.ts';
import type { EventBus } from '../events/bus.ts';
import { type Inbox, MESSAGE_ID_PATTERN } from './store.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** `POST /api/message` (anyone holding the token: the owner, or the platform for a sender) and the owner's reading of it. */
export function inboxRoutes({ inbox, bus }: { inbox: Inbox; bus: EventBus }): Hono {
  const app = new Hono();

  app.post(
    '/api/message',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new HttpError(
          413,
          'body_too_large',
          `the request body must be at most ${MAX_BODY_BYTES} bytes`,
        );
      },
    }),
    async (c) => {
      const input = await readJson(c, messageSchema);
      const message = await inbox.append(input);
      bus.publish({ type: 'inbox.message', message });
      return c.json({ id: message.id, receivedAt: message.receivedAt }, 201);
    },
  );

  app.get('/api/messages', async (c) => {
    const query = listSchema.safeParse(c.req.query());
    if (!query.success) throw validationError('invalid_query', 'invalid query parameters', query.error);
    const { since, limit } = query.data;
    const cursor = since === undefined || MESSAGE_ID_PATTERN.test(since) ? since : new Date(since);
    return c.json(await inbox.list({ since: cursor, limit }));
  });

  return app;
}
