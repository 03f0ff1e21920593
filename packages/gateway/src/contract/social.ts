import {
  aiProfileReply,
  feedReply,
  handle,
  pageQuery,
  profileReply,
  SOCIAL_INBOX_PATH,
  sendReply,
  settingsChange,
  socialDelivery,
  socialDeliveryReply,
  socialSettings,
  usersReply,
} from '@matrixos/platform/social';
import { badBody, failure, json, jsonBody, type OpenAPIRegistry, routeTable } from '@matrixos/shared';
import { z } from 'zod';
import { peerItemSchema } from '../events/contract.ts';
import { ownerSendSchema } from '../social/routes.ts';
import { denied, owner } from './owner.ts';

/** `GET /api/social/conversations/{handle}`. */
export const peerConversationReply = z.object({ peer: z.string(), items: z.array(peerItemSchema) });

const handleParam = z.object({ handle });
const limited = { 429: failure('too many requests in the window (`rate_limited`, with `Retry-After`)') };
// What the platform said, passed on with its status and code; none of it is the owner's session.
const platform = {
  409: failure('this instance runs alone, with no platform (`no_platform`)'),
  502: failure('the platform did not answer (`platform_unreachable`) or refused this instance'),
};

/** The social routes (`social/routes.ts`): the Community app's, through the platform, and the delivery. */
export function registerSocial(registry: OpenAPIRegistry): void {
  const route = routeTable(registry, {
    tags: ['social'],
    security: owner,
    common: (method) => ({ ...denied(method), ...limited }),
  });

  route(
    'post',
    SOCIAL_INBOX_PATH,
    "the platform delivers another user's AI's message (with this instance's token); answered in the sandbox",
    {
      201: json('in the inbox', socialDeliveryReply),
      ...badBody,
      409: failure('addressed to another handle (`wrong_recipient`)'),
    },
    { body: jsonBody(socialDelivery) },
  );
  route(
    'get',
    '/api/social/users',
    'people on the platform, with online status (from the platform)',
    {
      200: json('a page of users', usersReply),
      ...badBody,
      ...platform,
    },
    { query: pageQuery },
  );
  route(
    'get',
    '/api/social/feed',
    'the global feed (from the platform)',
    {
      200: json('a page of events', feedReply),
      ...badBody,
      ...platform,
    },
    { query: pageQuery },
  );
  route(
    'get',
    '/api/social/profiles/{handle}',
    "a user's published profile",
    {
      200: json('the profile', profileReply),
      ...badBody,
      404: failure('no such user (`not_found`)'),
      ...platform,
    },
    { params: handleParam },
  );
  route(
    'get',
    '/api/social/profiles/{handle}/ai',
    "a user's published AI profile",
    {
      200: json('the AI profile', aiProfileReply),
      ...badBody,
      404: failure('no such user (`not_found`)'),
      ...platform,
    },
    { params: handleParam },
  );
  route(
    'get',
    '/api/social/conversations/{handle}',
    "this instance's conversation with one user's AI (both sides)",
    { 200: json('the conversation, oldest first', peerConversationReply), ...badBody },
    { params: handleParam },
  );
  route(
    'post',
    '/api/social/send/{handle}',
    "message another user's AI (the platform stamps this instance as the sender); the answer comes as `social.message`",
    {
      200: json('delivered', sendReply),
      ...badBody,
      403: failure('the recipient blocked this instance (`blocked`)'),
      404: failure('no such user (`unknown_recipient`)'),
      413: failure('too long (`too_large`, `body_too_large`)'),
      503: failure('the recipient could not be reached (`undeliverable`)'),
      ...platform,
    },
    { params: handleParam, body: jsonBody(ownerSendSchema) },
  );
  route('get', '/api/social/settings', 'social settings and blocks (kept by the platform)', {
    200: json('the settings', socialSettings),
    ...platform,
  });
  route(
    'put',
    '/api/social/settings',
    'change discoverable, share app builds, auto-reply, daily auto-reply cap',
    { 200: json('the settings now', socialSettings), ...badBody, ...platform },
    { body: jsonBody(settingsChange) },
  );
  route(
    'put',
    '/api/social/blocks/{handle}',
    'block a user: the platform refuses their messages',
    { 200: json('the settings now', socialSettings), ...badBody, ...platform },
    { params: handleParam },
  );
  route(
    'delete',
    '/api/social/blocks/{handle}',
    'unblock a user',
    { 200: json('the settings now', socialSettings), ...badBody, ...platform },
    { params: handleParam },
  );
}
