import { z } from 'zod';
import { MESSAGE_ID_PATTERN } from '../inbox/store.ts';
import { aiSettingsSchema } from '../kernel/settings.ts';

/**
 * What the gateway's routes read from requests, validated with exactly these schemas (the
 * handlers import them) and described with them in `/openapi.json`.
 */

export const MAX_MESSAGE_CHARS = 10_000;

/** `POST /api/session`. */
export const signInSchema = z.strictObject({
  token: z.string().trim().min(1, 'paste the access token').max(1000),
});

/** `POST /api/message`. */
export const messageSchema = z.strictObject({
  text: z
    .string()
    .max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`)
    .refine((t) => t.trim().length > 0, 'must not be empty'),
  from: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    // A name or an address, never something that could pose as a second line in a log or a UI.
    .refine((f) => !/\p{Cc}/u.test(f), 'must not contain control characters')
    .optional(),
});

/** `GET /api/messages?since=&limit=`. */
export const listSchema = z.object({
  since: z
    .string()
    .refine(
      (s) => MESSAGE_ID_PATTERN.test(s) || !Number.isNaN(Date.parse(s)),
      'must be a message id or an ISO time',
    )
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** `PUT /api/settings`. */
export const changeSchema = z.strictObject({
  model: aiSettingsSchema.shape.model.unwrap().optional(),
  maxTokens: aiSettingsSchema.shape.maxTokens.unwrap().optional(),
  maxTurns: aiSettingsSchema.shape.maxTurns.unwrap().optional(),
});

/** `PUT /api/settings/anthropic-key`. */
export const keySchema = z.strictObject({
  apiKey: z
    .string()
    .trim()
    .min(10, 'is too short to be an API key')
    .max(500)
    .regex(/^\S+$/, 'must not contain spaces'),
});
