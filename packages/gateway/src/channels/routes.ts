import { limitBody, readJson, TELEGRAM_SECRET_HEADER, TELEGRAM_WEBHOOK_PATH } from '@matrixos/shared';
import { Hono } from 'hono';
import { telegramTokenRequest, telegramUpdate } from './contract.ts';
import { rateLimit } from './rateLimit.ts';
import type { TelegramChannel } from './telegram/telegram.ts';

// Telegram updates are small (a message, a caption, file ids); 1 MiB leaves plenty of room.
const UPDATE_BYTES = 1024 * 1024;
const SETTINGS_BYTES = 4 * 1024;

/**
 * The channels' settings (owner only, like every /api route) and Telegram's webhook, which is
 * public and answers only to the instance's webhook secret (checked here, and on the platform by
 * the router before anything is forwarded or woken).
 */
export function channelRoutes({ telegram }: { telegram: TelegramChannel }): Hono {
  const app = new Hono();
  // Setting a token asks Telegram (getMe, setWebhook): bounded so a script cannot hammer it through us.
  const settingsLimit = rateLimit(20, 60_000);
  // Telegram delivers at most a few updates per second for one private bot; more is not Telegram.
  const webhookLimit = rateLimit(600, 60_000);

  app.get('/api/settings/telegram', async (c) => c.json(await telegram.settings()));

  app.put('/api/settings/telegram', settingsLimit, limitBody(SETTINGS_BYTES), async (c) => {
    const { botToken } = await readJson(c, telegramTokenRequest);
    return c.json(await telegram.setToken(botToken));
  });

  app.delete('/api/settings/telegram', settingsLimit, async (c) => {
    await telegram.remove();
    return c.body(null, 204);
  });

  app.post('/api/settings/telegram/link-code', settingsLimit, async (c) =>
    c.json(await telegram.newLinkCode()),
  );

  app.delete('/api/settings/telegram/owner', settingsLimit, async (c) => c.json(await telegram.unlink()));

  app.post(TELEGRAM_WEBHOOK_PATH, webhookLimit, limitBody(UPDATE_BYTES), async (c) => {
    // The secret first: a stranger learns nothing from how the body is judged.
    telegram.verifyWebhook(c.req.header(TELEGRAM_SECRET_HEADER));
    const update = await readJson(c, telegramUpdate);
    await telegram.webhook(update as never);
    return c.json({});
  });

  return app;
}
