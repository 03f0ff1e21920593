import {
  handle as handleSchema,
  pageQuery,
  SOCIAL_INBOX_PATH,
  SOCIAL_LIMITS,
  settingsChange,
  socialDelivery,
} from '@matrixos/platform/social';
import { HttpError, limitBody, readJson, validationError } from '@matrixos/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import { rateLimit } from '../channels/rateLimit.ts';
import type { Social } from './social.ts';

/** `POST /api/social/send/:handle`: what the owner writes (the platform's limit on text). */
export const ownerSendSchema = z.strictObject({
  text: z
    .string()
    .max(SOCIAL_LIMITS.textChars, `must be at most ${SOCIAL_LIMITS.textChars} characters`)
    .refine((t) => t.trim().length > 0, 'must not be empty'),
});

/** Owner requests per minute to the social routes: the platform limits it again per instance. */
const OWNER_RATE = 120;
/** Deliveries per minute: the platform's own limits come first; this only bounds a token holder. */
const DELIVERY_RATE = 120;

function handleOf(value: string | undefined): string {
  const parsed = handleSchema.safeParse(value);
  if (!parsed.success) throw validationError('invalid_handle', 'not a handle', parsed.error);
  return parsed.data;
}

/**
 * The Community app's routes (the owner, through their own gateway: the platform credential
 * stays in the instance) and the platform's delivery into this instance's inbox.
 */
export function socialRoutes({ social, handle }: { social: Social; handle: string }): Hono {
  const app = new Hono();
  const platform = () => {
    if (!social.client) {
      throw new HttpError(409, 'no_platform', 'this instance runs alone: there is no community to reach');
    }
    return social.client;
  };

  app.post(SOCIAL_INBOX_PATH, limitBody(16 * 1024), rateLimit(DELIVERY_RATE, 60_000), async (c) => {
    const delivery = await readJson(c, socialDelivery);
    if (delivery.to !== handle) {
      throw new HttpError(409, 'wrong_recipient', `this instance is @${handle}, not @${delivery.to}`);
    }
    await social.receive(delivery);
    return c.json({ accepted: true as const, id: delivery.id }, 201);
  });

  const owner = new Hono();
  owner.use(limitBody(16 * 1024), rateLimit(OWNER_RATE, 60_000));
  const page = (query: Record<string, string>) => {
    const parsed = pageQuery.safeParse(query);
    if (!parsed.success) throw validationError('invalid_query', 'invalid query parameters', parsed.error);
    return parsed.data;
  };
  owner.get('/users', async (c) => c.json(await platform().users(page(c.req.query()))));
  owner.get('/feed', async (c) => c.json(await platform().feed(page(c.req.query()))));
  owner.get('/profiles/:handle', async (c) =>
    c.json(await platform().profile(handleOf(c.req.param('handle')))),
  );
  owner.get('/profiles/:handle/ai', async (c) =>
    c.json(await platform().aiProfile(handleOf(c.req.param('handle')))),
  );
  owner.get('/conversations/:handle', async (c) => {
    const peer = handleOf(c.req.param('handle'));
    return c.json({ peer, items: await social.conversations.get(peer) });
  });
  owner.post('/send/:handle', async (c) => {
    const peer = handleOf(c.req.param('handle'));
    const { text } = await readJson(c, ownerSendSchema);
    return c.json(await social.send(peer, text));
  });
  owner.get('/settings', async (c) => c.json(await platform().settings()));
  owner.put('/settings', async (c) =>
    c.json(await platform().changeSettings(await readJson(c, settingsChange))),
  );
  owner.put('/blocks/:handle', async (c) => c.json(await platform().block(handleOf(c.req.param('handle')))));
  owner.delete('/blocks/:handle', async (c) =>
    c.json(await platform().unblock(handleOf(c.req.param('handle')))),
  );
  app.route('/api/social', owner);
  return app;
}
