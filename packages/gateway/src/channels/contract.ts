import { z } from 'zod';

/** Request and response shapes of the channel routes, for the OpenAPI description. */
export const channelStatusSchema = z.object({
  name: z.string(),
  state: z.enum(['off', 'starting', 'running', 'error']),
  via: z.enum(['polling', 'webhook']).optional(),
  linked: z.boolean(),
  detail: z.string().optional(),
});

export const telegramTokenRequest = z.strictObject({
  // Bot API tokens look like `123456789:AA...` (the bot's id, a colon, 35 characters).
  botToken: z
    .string()
    .trim()
    .regex(/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/, 'must be a bot token from @BotFather, like 123456:ABC-DEF…'),
});

export const telegramSettingsResponse = z.object({
  configured: z.boolean(),
  bot: z.object({ username: z.string(), firstName: z.string() }).nullable(),
  owner: z.object({ name: z.string() }).nullable(),
  linkCode: z.object({ code: z.string(), expiresAt: z.string(), attemptsLeft: z.number().int() }).nullable(),
  status: channelStatusSchema,
});

/** Telegram's Update object: only that it is an object with an update_id is checked here; grammY reads the rest. */
export const telegramUpdate = z.looseObject({ update_id: z.number().int().nonnegative() });

export const channelRouteContracts = [
  { method: 'get', path: '/api/settings/telegram', response: telegramSettingsResponse },
  {
    method: 'put',
    path: '/api/settings/telegram',
    request: telegramTokenRequest,
    response: telegramSettingsResponse,
  },
  { method: 'delete', path: '/api/settings/telegram', response: null },
  { method: 'post', path: '/api/settings/telegram/link-code', response: telegramSettingsResponse },
  { method: 'delete', path: '/api/settings/telegram/owner', response: telegramSettingsResponse },
  // Public, by X-Telegram-Bot-Api-Secret-Token: answers 200 {} once the update is taken.
  { method: 'post', path: '/api/channels/telegram/webhook', request: telegramUpdate, response: z.object({}) },
] as const;
