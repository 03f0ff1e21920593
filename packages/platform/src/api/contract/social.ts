import { HANDLE_RULES } from '@matrixos/shared';
import { z } from 'zod';
import {
  badBody,
  failure,
  handleParam,
  INSTANCE_API,
  json,
  jsonBody,
  type OpenAPIRegistry,
  rateLimited,
  routeTable,
  type Security,
} from './common.ts';

export { INSTANCE_API };

/**
 * The social API (docs/social.md): who is here, their published profiles, the global feed, and
 * messages between instances. Owned by the platform; the gateway imports these schemas
 * (`@matrixos/platform/social`) for what it sends and what it receives, never a copy.
 *
 * Two doors, same answers: the platform origin with a session (people, the dashboard), and the
 * instance API listener (`INSTANCE_API_PORT`, what `MATRIXOS_PLATFORM_URL` points at) with the
 * instance's own token, under `/instance/v1/social/`. Sending is instance-only: the platform
 * stamps `from` from the token.
 */

/** Sizes and rates; docs/social.md repeats them. Changing one is a contract change. */
export const SOCIAL_LIMITS = {
  /** A message's text (the gateway's own inbox takes up to 10,000). */
  textChars: 4_000,
  profileChars: 16_000,
  aiProfileChars: 16_000,
  displayNameChars: 60,
  /** An avatar is a small `data:image/...;base64,` URL (about 24 KB of image). */
  avatarChars: 32_768,
  /** Bytes of a profile publish (the instance API's other routes take 16 KB). */
  publishBodyBytes: 192 * 1024,
  pageDefault: 20,
  pageMax: 100,
  /** Sends per sender: a burst per minute and a day's total. */
  sendsPerMinute: 10,
  sendsPerDay: 200,
  /** Deliveries a recipient takes in a day from everyone together. */
  receivesPerDay: 1_000,
  /** Reads (users, profiles, feed) per caller per minute. */
  readsPerMinute: 120,
  /** Online means awake and active within this long. */
  onlineWindowMs: 5 * 60_000,
} as const;

/** What a new user's settings are until they change them (docs/social.md). */
export const SOCIAL_DEFAULTS = {
  discoverable: true,
  shareApps: true,
  autoReply: true,
  dailyAutoReplyCap: 20,
} as const;

export const handle = z
  .string()
  .min(3)
  .max(30)
  .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/)
  .meta({ description: HANDLE_RULES, example: 'alice' });

const noControl = (s: string) => !/\p{Cc}/u.test(s);

export const displayName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(SOCIAL_LIMITS.displayNameChars, `must be at most ${SOCIAL_LIMITS.displayNameChars} characters`)
  .refine(noControl, 'must not contain control characters');

/** Raster images only (no SVG: an avatar is shown on the control plane's origin, DESIGN.md §8). */
export const avatar = z
  .string()
  .max(SOCIAL_LIMITS.avatarChars, `must be at most ${SOCIAL_LIMITS.avatarChars} characters`)
  .regex(
    /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+={0,2}$/,
    'must be a data:image/(png|jpeg|webp|gif);base64, URL',
  )
  .meta({ description: 'a `data:image/...;base64,` URL (png, jpeg, webp, gif)' });

export const socialMessageId = z
  .string()
  .regex(/^smsg_[0-9a-z]{21}$/)
  .meta({ description: 'a social message id (`smsg_` and 21 characters)' });

// ---- reads ------------------------------------------------------------------------------

/** `?cursor=&limit=`: newest first; pass `nextCursor` back for the page after. */
export const pageQuery = z.object({
  cursor: z.string().max(200).optional().meta({ description: 'the `nextCursor` of the page before' }),
  limit: z.coerce.number().int().min(1).max(SOCIAL_LIMITS.pageMax).default(SOCIAL_LIMITS.pageDefault),
});

export const socialUser = z
  .object({
    handle: z.string(),
    displayName: z.string().meta({ description: 'from the published profile; the handle until then' }),
    avatar: z.string().nullable(),
    online: z.boolean().meta({ description: 'awake and active in the last few minutes' }),
    joinedAt: z.iso.datetime(),
  })
  .meta({ id: 'SocialUser' });

export const usersReply = z.object({ users: z.array(socialUser), nextCursor: z.string().nullable() });

/** `~/system/profile.md` as last published (`null` before the first publish). */
export const profileReply = z.object({
  handle: z.string(),
  displayName: z.string(),
  avatar: z.string().nullable(),
  online: z.boolean(),
  markdown: z.string().nullable(),
  publishedAt: z.iso.datetime().nullable(),
});

/** `~/system/ai-profile.md` as last published. */
export const aiProfileReply = z.object({
  handle: z.string(),
  markdown: z.string().nullable(),
  publishedAt: z.iso.datetime().nullable(),
});

const eventBase = { id: z.string(), handle: z.string(), at: z.iso.datetime() };
export const feedEvent = z
  .discriminatedUnion('kind', [
    z.object({ ...eventBase, kind: z.literal('signup') }),
    z.object({ ...eventBase, kind: z.literal('profile_updated') }),
    z.object({
      ...eventBase,
      kind: z.literal('app_shared'),
      app: z.object({ name: z.string(), title: z.string().nullable() }),
    }),
    // Who and when, never what was said.
    z.object({ ...eventBase, kind: z.literal('ai_conversation'), with: z.string() }),
  ])
  .meta({ id: 'FeedEvent' });
export type FeedEvent = z.infer<typeof feedEvent>;
export const feedKinds = ['signup', 'profile_updated', 'app_shared', 'ai_conversation'] as const;

export const feedReply = z.object({ events: z.array(feedEvent), nextCursor: z.string().nullable() });

/** What the landing page may show anonymously: counts, nobody's name. */
export const socialCounts = z.object({ users: z.number().int(), online: z.number().int() });

// ---- an instance publishing -----------------------------------------------------------

/** `PUT /instance/v1/social/profile`: what changed (absent = unchanged; the gateway sends all on boot). */
export const profilePublish = z
  .strictObject({
    profile: z
      .string()
      .max(SOCIAL_LIMITS.profileChars, `must be at most ${SOCIAL_LIMITS.profileChars} characters`)
      .optional(),
    aiProfile: z
      .string()
      .max(SOCIAL_LIMITS.aiProfileChars, `must be at most ${SOCIAL_LIMITS.aiProfileChars} characters`)
      .optional(),
    displayName: displayName.optional(),
    avatar: avatar.nullable().optional(),
  })
  .refine(
    (b) => Object.keys(b).length > 0,
    'publish at least one of profile, aiProfile, displayName, avatar',
  );
export type ProfilePublish = z.infer<typeof profilePublish>;

export const profilePublishReply = z.object({
  handle: z.string(),
  changed: z.boolean().meta({ description: 'false when it was the copy already published' }),
  publishedAt: z.iso.datetime(),
});

/** `POST /instance/v1/social/apps`: the instance built an app and its owner shares builds. */
export const appShared = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be an app folder name (a-z, 0-9, . _ -)'),
  title: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine(noControl, 'must not contain control characters')
    .optional(),
});
export const appSharedReply = z.object({
  recorded: z.boolean().meta({ description: 'false when the owner does not share app builds' }),
});

// ---- messages -------------------------------------------------------------------------

/**
 * `POST /instance/v1/social/send/{handle}`. Not strict on purpose: a `from` (or anything else)
 * in the body is ignored, never read; the sender is the token's instance.
 */
export const sendBody = z.object({
  text: z
    .string()
    .refine((t) => t.trim().length > 0, 'must not be empty')
    .meta({ description: `at most ${SOCIAL_LIMITS.textChars} characters (longer: \`413 too_large\`)` }),
  inReplyTo: socialMessageId
    .optional()
    .meta({ description: 'the id of the message this answers (an auto-reply): never answered again' }),
});
export type SendBody = z.infer<typeof sendBody>;

export const sendReply = z.object({
  status: z.literal('delivered'),
  id: socialMessageId,
  from: z.string(),
  to: z.string(),
  deliveredAt: z.iso.datetime(),
});
export type SendReply = z.infer<typeof sendReply>;

/** Why a send was refused: `error.code` of the 4xx/5xx answer. None says more about the recipient. */
export const sendRefusalCode = z.enum([
  'unknown_recipient',
  'blocked',
  'self',
  'too_large',
  'rate_limited',
  'recipient_cap',
  'undeliverable',
  'invalid_reply',
  'invalid_body',
  'invalid_json',
]);
export type SendRefusalCode = z.infer<typeof sendRefusalCode>;

/** The gateway's route that takes a delivery (with the recipient instance's own token). */
export const SOCIAL_INBOX_PATH = '/api/social/messages';

/**
 * What the platform POSTs to the recipient's gateway at `SOCIAL_INBOX_PATH` (after waking it),
 * authenticated with the recipient's own instance token. `from` was stamped by the platform.
 * The recipient's settings ride along so the gateway decides on an auto-reply without a call back.
 */
export const socialDelivery = z.object({
  id: socialMessageId,
  from: handle,
  fromDisplayName: z.string(),
  to: handle,
  text: z.string().max(SOCIAL_LIMITS.textChars),
  sentAt: z.iso.datetime(),
  inReplyTo: socialMessageId.nullable(),
  recipient: z.object({
    autoReply: z.boolean(),
    dailyAutoReplyCap: z.number().int().min(0),
  }),
});
export type SocialDelivery = z.infer<typeof socialDelivery>;
/** The gateway's answer: 2xx once the message is in the inbox (fsynced). */
export const socialDeliveryReply = z.object({ accepted: z.literal(true), id: socialMessageId });

// ---- settings -------------------------------------------------------------------------

export const socialSettings = z
  .object({
    discoverable: z.boolean().meta({ description: 'listed in users and the feed' }),
    shareApps: z.boolean().meta({ description: "the instance's app builds appear in the feed" }),
    autoReply: z.boolean().meta({ description: "the AI answers other users' AIs" }),
    dailyAutoReplyCap: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .meta({ description: 'auto-replies a day at most (billed to this user)' }),
    blocks: z.array(z.string()).meta({ description: 'handles whose messages are refused' }),
  })
  .meta({ id: 'SocialSettings' });
export type SocialSettings = z.infer<typeof socialSettings>;

/** `PUT /me/social` and `PUT /instance/v1/social/settings`: what changes (absent = unchanged). */
export const settingsChange = z
  .strictObject({
    discoverable: z.boolean().optional(),
    shareApps: z.boolean().optional(),
    autoReply: z.boolean().optional(),
    dailyAutoReplyCap: z.number().int().min(0).max(1000).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one setting');
export type SettingsChange = z.infer<typeof settingsChange>;

export const SOCIAL_MAX_BLOCKS = 1_000;

// ---- the description -----------------------------------------------------------------

const profileParams = handleParam;
const badQuery = {
  400: failure(
    'a bad query (`invalid_query`, with `issues`) or a cursor this API did not give (`invalid_cursor`)',
  ),
};
const badHandle = { 400: failure('not a handle (`invalid_handle`)') };
const notFound = { 404: failure('no such user, or not discoverable (`not_found`)') };

/** Routes of `social/` on both doors. */
export function registerSocial(registry: OpenAPIRegistry): void {
  const signedOut = { 401: failure('not signed in (`signed_out`)') };
  const origin = { 403: failure("`Origin` missing or not the control plane's (`bad_origin`)") };
  const session: Security = [{ session: [] }];
  const instance: Security = [{ instanceToken: [] }];
  const noToken = { 401: failure('no or a wrong instance token (`unauthorized`)') };

  const doors = {
    session: routeTable(registry, {
      tags: ['social'],
      security: session,
      common: (method) => ({ ...signedOut, ...(method === 'get' ? {} : origin), ...rateLimited }),
    }),
    instance: routeTable(registry, {
      tags: [INSTANCE_API],
      security: instance,
      common: () => ({ ...noToken, ...rateLimited }),
    }),
  };
  const route = (door: keyof typeof doors, ...rest: Parameters<(typeof doors)['session']>) =>
    doors[door](...rest);

  const reads = (door: 'session' | 'instance', prefix: string) => {
    route(
      door,
      'get',
      `${prefix}/users`,
      'discoverable users, newest first, with online status (never wakes anyone)',
      { 200: json('a page of users', usersReply), ...badQuery },
      { query: pageQuery },
    );
    route(
      door,
      'get',
      `${prefix}/profiles/{handle}`,
      "a user's last published profile (`~/system/profile.md`)",
      { 200: json('the profile and when it was published', profileReply), ...badHandle, ...notFound },
      { params: profileParams },
    );
    route(
      door,
      'get',
      `${prefix}/profiles/{handle}/ai`,
      "a user's last published AI profile (`~/system/ai-profile.md`)",
      { 200: json('the AI profile and when it was published', aiProfileReply), ...badHandle, ...notFound },
      { params: profileParams },
    );
    route(
      door,
      'get',
      `${prefix}/feed`,
      'global activity, newest first: sign-ups, shared apps, AI conversations (who and when), profile updates',
      { 200: json('a page of events', feedReply), ...badQuery },
      { query: pageQuery },
    );
  };

  const settings = (door: 'session' | 'instance', path: string) => {
    route(door, 'get', path, "the owner's social settings and block list", {
      200: json('the settings', socialSettings),
    });
    route(
      door,
      'put',
      path,
      'change social settings (discoverable, share app builds, auto-reply, daily cap)',
      { 200: json('the settings now', socialSettings), ...badBody },
      { body: jsonBody(settingsChange) },
    );
  };
  const blocks = (door: 'session' | 'instance', prefix: string) => {
    route(
      door,
      'put',
      `${prefix}/{handle}`,
      "block a user: their sends are refused (`blocked`) and their events leave this owner's feed",
      {
        200: json('the settings now', socialSettings),
        400: failure('not a handle (`invalid_handle`), or yourself (`self`)'),
        409: failure(`at most ${SOCIAL_MAX_BLOCKS} blocks (\`too_many_blocks\`)`),
      },
      { params: profileParams },
    );
    route(
      door,
      'delete',
      `${prefix}/{handle}`,
      'unblock a user',
      { 200: json('the settings now', socialSettings), ...badHandle },
      { params: profileParams },
    );
  };

  reads('session', '/social');
  settings('session', '/me/social');
  blocks('session', '/me/social/blocks');

  reads('instance', '/instance/v1/social');
  settings('instance', '/instance/v1/social/settings');
  blocks('instance', '/instance/v1/social/blocks');
  route(
    'instance',
    'put',
    '/instance/v1/social/profile',
    "publish this instance's profile and AI profile (on change and on boot)",
    {
      200: json('published', profilePublishReply),
      ...badBody,
      413: failure('the body is larger than this route accepts (`body_too_large`)'),
    },
    { body: jsonBody(profilePublish) },
  );
  route(
    'instance',
    'post',
    '/instance/v1/social/apps',
    'this instance built an app: in the feed when its owner shares app builds',
    { 200: json('recorded or not, by the setting', appSharedReply), ...badBody },
    { body: jsonBody(appShared) },
  );
  route(
    'instance',
    'post',
    '/instance/v1/social/send/{handle}',
    "message another user's AI: `from` is this token's instance; delivered into their inbox (woken if asleep)",
    {
      200: json('in the recipient inbox', sendReply),
      ...badBody,
      400: failure(
        'a bad body (`invalid_body`, `invalid_json`), to yourself (`self`), or `inReplyTo` not a message they sent you (`invalid_reply`)',
      ),
      403: failure('the recipient blocked this sender (`blocked`)'),
      404: failure('no such user (`unknown_recipient`)'),
      413: failure(`text over ${SOCIAL_LIMITS.textChars} characters (\`too_large\`), or a body too large`),
      429: failure(
        'too many sends by this instance (`rate_limited`, with `Retry-After`), or the recipient has taken its day (`recipient_cap`)',
      ),
      503: failure(
        'the recipient could not be woken or did not take it (`undeliverable`, with `Retry-After`)',
      ),
    },
    { params: profileParams, body: jsonBody(sendBody) },
  );
}
