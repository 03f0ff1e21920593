import {
  badBody,
  failure,
  json,
  jsonBody,
  type OpenAPIRegistry,
  REVOCATIONS_PATH,
  type Responses,
  revocationsBody,
  type Security,
} from '@matrixos/shared';
import { z } from 'zod';
import { registerAppliance } from '../appliance/openapi.ts';
import { channelRouteContracts, channelStatusSchema } from '../channels/contract.ts';
import { inboxPeerSchema } from '../events/contract.ts';
import { changeSchema, keySchema, listSchema, messageSchema, signInSchema } from './bodies.ts';
import { registerJobs } from './jobs.ts';
import { denied, owner } from './owner.ts';
import { registerSocial } from './social.ts';

const mode = z.enum(['single', 'platform']);
const time = z.iso.datetime();

// Answers, as the route modules build them (the tests parse real answers with these).
export const healthReply = z.object({
  status: z.literal('ok'),
  handle: z.string(),
  version: z.string(),
  uptime: z.number().int().meta({ description: 'seconds' }),
  lastActivity: time,
});
export const systemInfoReply = z.object({
  version: z.string(),
  handle: z.string(),
  mode,
  startedAt: time,
  uptime: z.number().int(),
  node: z.string(),
  // Each live channel with its state; names only in system/config.json come as `configured`.
  channels: z.array(
    channelStatusSchema.extend({ state: z.enum(['off', 'starting', 'running', 'error', 'configured']) }),
  ),
  modules: z.array(z.object({ name: z.string(), path: z.string() })),
  disk: z.object({
    home: z.object({ bytes: z.number(), files: z.number().int(), measuredAt: time }),
    filesystem: z.object({ totalBytes: z.number(), freeBytes: z.number(), availableBytes: z.number() }),
  }),
});
export const sessionReply = z.object({
  handle: z.string(),
  mode,
  version: z.string(),
  via: z.enum(['bearer', 'session', 'pass']),
});
export const inboxMessage = z
  .object({
    id: z.string(),
    text: z.string(),
    from: z.string().nullable(),
    receivedAt: time,
    peer: inboxPeerSchema.optional(),
  })
  .meta({ id: 'InboxMessage' });
export const messagesReply = z.object({ messages: z.array(inboxMessage), more: z.boolean() });
export const directoryReply = z.object({
  path: z.string(),
  entries: z.array(
    z.object({
      name: z.string(),
      type: z.enum(['file', 'directory', 'symlink', 'other']),
      size: z.number(),
      modifiedAt: time,
    }),
  ),
});
export const writtenReply = z.object({ path: z.string(), size: z.number().int() });
export const appsReply = z.object({
  apps: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      url: z.string(),
      updatedAt: z.string().nullable(),
    }),
  ),
});
const conversationSummary = z.object({ id: z.string(), title: z.string(), createdAt: time, updatedAt: time });
export const conversationsReply = z.object({ conversations: z.array(conversationSummary) });
export const conversationReply = conversationSummary.extend({
  items: z.array(
    z.union([
      z.object({ role: z.enum(['user', 'assistant']), text: z.string() }),
      z.object({
        role: z.literal('tool'),
        id: z.string(),
        name: z.string(),
        summary: z.string(),
        ok: z.boolean().nullable(),
      }),
    ]),
  ),
});
const ownKeyStatus = z.object({ configured: z.boolean(), hint: z.string().nullable() });
const aiSettings = z.object({ model: z.string(), maxTokens: z.number().int(), maxTurns: z.number().int() });
export const settingsReply = z.object({
  handle: z.string(),
  mode,
  ai: aiSettings,
  ownKey: ownKeyStatus.extend({ error: z.string().optional() }),
  environmentKey: z.boolean(),
  budget: z
    .object({
      kind: z.enum(['remaining', 'unlimited', 'own-key', 'unknown']),
      usd: z.number().optional(),
      line: z.string(),
    })
    .nullable(),
  models: z.array(z.object({ id: z.string(), name: z.string() })),
});

export const revocationsReply = z.object({
  revoked: z.number().int().meta({ description: 'sessions named (each once)' }),
  closed: z
    .number()
    .int()
    .meta({ description: 'WebSockets closed (1008) that were opened with their passes' }),
});
const fileParam = z.object({
  path: z.string().meta({ description: 'a path in the home, percent-encoded segment by segment' }),
});
const fileErrors = {
  400: failure('a path that points outside the home or is malformed (`invalid_path`, `name_too_long`)'),
  403: failure('not a regular file or directory, or not readable'),
  404: failure('no such file or directory'),
};
const anyBytes = (description: string) => ({ description, content: { '*/*': { schema: z.string() } } });
const noContent = { 204: { description: 'done' } };

/** Every route of the gateway's app (`app.ts`), by module. */
export function registerGateway(registry: OpenAPIRegistry): void {
  const route = (
    method: 'get' | 'head' | 'post' | 'put' | 'delete',
    path: string,
    tag: string,
    summary: string,
    responses: Responses,
    request: Record<string, unknown> = {},
    security: Security | null = owner,
  ) =>
    registry.registerPath({
      method,
      path,
      tags: [tag],
      summary,
      request,
      ...(security ? { security } : {}),
      responses: { ...(security ? denied(method) : {}), ...responses },
    });

  route(
    'get',
    '/health',
    'system',
    'alive; public, and not activity',
    { 200: json('alive', healthReply) },
    {},
    null,
  );
  route(
    'get',
    '/api/health',
    'system',
    "alive (the seed's name for `/health`); public, and not activity",
    { 200: json('alive', healthReply) },
    {},
    null,
  );
  route(
    'get',
    '/openapi.json',
    'system',
    'this description (OpenAPI 3.1)',
    {
      200: json('the document', z.object({ openapi: z.string() }).loose()),
    },
    {},
    null,
  );
  route('get', '/api/system/info', 'system', 'version, uptime, channels, modules, disk usage', {
    200: json('the instance', systemInfoReply),
  });

  route(
    'get',
    '/',
    'shell',
    'the shell for the signed-in owner, the sign-in page for anyone else (single-user mode)',
    {
      200: { description: 'the page', content: { 'text/html': { schema: z.string() } } },
      ...denied('get'),
    },
    {},
    null,
  );
  route(
    'get',
    '/shell/{path}',
    'shell',
    "the shell's scripts, styles and icons",
    {
      200: anyBytes('the file'),
      304: { description: 'not modified (`If-None-Match`)' },
      404: failure('no such shell file'),
    },
    { params: fileParam },
    null,
  );

  route(
    'post',
    '/api/session',
    'session',
    'sign a browser in with the access token (sets a session cookie)',
    {
      200: json('signed in', z.object({ signedIn: z.literal(true), handle: z.string() })),
      ...badBody,
      401: failure('not the access token (`invalid_token`)'),
      403: failure('from another origin (`cross_origin`)'),
    },
    { body: jsonBody(signInSchema) },
    null,
  );
  route('get', '/api/session', 'session', 'who is signed in, and how', {
    200: json('the caller', sessionReply),
  });
  route('delete', '/api/session', 'session', 'sign out (ends the session)', noContent);
  registry.registerPath({
    method: 'post',
    path: REVOCATIONS_PATH,
    tags: ['session'],
    summary:
      'the platform ends instance sessions: their passes are refused from now on, their WebSockets closed (1008)',
    request: { body: jsonBody(revocationsBody) },
    security: [{ instanceToken: [] }],
    responses: {
      200: json('done', revocationsReply),
      ...badBody,
      401: failure('not the instance token: a pass or a session cannot revoke (`unauthorized`)'),
    },
  });

  route('get', '/api/profile', 'profile', "the owner's profile (`system/profile.md`)", {
    200: { description: 'markdown', content: { 'text/markdown': { schema: z.string() } } },
    404: failure('the file does not exist (`profile_missing`)'),
  });
  route('get', '/api/ai-profile', 'profile', "the AI's profile (`system/ai-profile.md`)", {
    200: { description: 'markdown', content: { 'text/markdown': { schema: z.string() } } },
    404: failure('the file does not exist (`profile_missing`)'),
  });

  route(
    'post',
    '/api/message',
    'inbox',
    'a message for the inbox (the platform stamps the sender)',
    {
      201: json('stored (fsynced)', z.object({ id: z.string(), receivedAt: time })),
      ...badBody,
    },
    { body: jsonBody(messageSchema) },
  );
  route(
    'get',
    '/api/messages',
    'inbox',
    'the inbox, oldest first after `since`, or the latest `limit`',
    {
      200: json('messages', messagesReply),
      400: failure('bad query parameters (`invalid_query`)'),
    },
    { query: listSchema },
  );

  for (const path of ['/files', '/files/{path}']) {
    const request = path === '/files' ? {} : { params: fileParam };
    route(
      'get',
      path,
      'files',
      'a file (its bytes) or a directory (its listing)',
      {
        200: {
          description: 'the file, or the listing of a directory',
          content: { 'application/json': { schema: directoryReply }, '*/*': { schema: z.string() } },
        },
        ...fileErrors,
      },
      request,
    );
    route(
      'head',
      path,
      'files',
      'whether it exists, its type and size',
      {
        200: { description: 'it exists' },
        ...fileErrors,
      },
      request,
    );
  }
  route(
    'put',
    '/files/{path}',
    'files',
    'write a file (atomically; parents are made)',
    {
      200: json('replaced', writtenReply),
      201: json('created', writtenReply),
      ...fileErrors,
      409: failure('the path or a parent is a directory / a file'),
      413: failure('larger than `MAX_FILE_BYTES` (`file_too_large`)'),
      507: failure('the home is out of space (`insufficient_storage`)'),
    },
    {
      params: fileParam,
      body: { content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } },
    },
  );
  route(
    'delete',
    '/files/{path}',
    'files',
    'remove a file, or a directory (`recursive=true` if not empty)',
    {
      ...noContent,
      ...fileErrors,
      409: failure('the directory is not empty (`directory_not_empty`)'),
    },
    { params: fileParam, query: z.object({ recursive: z.enum(['true', 'false']).optional() }) },
  );

  route('get', '/api/apps', 'apps', "the launcher's list of apps", { 200: json('the apps', appsReply) });
  route(
    'get',
    '/apps/{name}',
    'apps',
    'to the app folder (`/apps/{name}/`)',
    {
      308: { description: 'to the same path with a slash' },
      404: failure('no such app'),
    },
    { params: z.object({ name: z.string() }) },
  );
  route(
    'get',
    '/apps/{name}/{path}',
    'apps',
    'an app and its files, sandboxed (`Content-Security-Policy`)',
    {
      200: anyBytes('the file'),
      ...fileErrors,
    },
    { params: z.object({ name: z.string(), path: z.string() }) },
  );

  route('get', '/api/conversations', 'conversations', 'the AI conversations, newest first', {
    200: json('summaries', conversationsReply),
  });
  route(
    'get',
    '/api/conversations/{id}',
    'conversations',
    'one conversation, as the shell shows it',
    {
      200: json('the conversation', conversationReply),
      404: failure('no such conversation'),
    },
    { params: z.object({ id: z.string() }) },
  );
  route(
    'delete',
    '/api/conversations/{id}',
    'conversations',
    'delete a conversation',
    {
      ...noContent,
      404: failure('no such conversation'),
    },
    { params: z.object({ id: z.string() }) },
  );

  route('get', '/api/settings', 'settings', 'the AI settings, own key, budget and models', {
    200: json('the settings', settingsReply),
  });
  route(
    'put',
    '/api/settings',
    'settings',
    'change the AI model or limits',
    {
      200: json('the settings now', z.object({ ai: aiSettings })),
      ...badBody,
    },
    { body: jsonBody(changeSchema) },
  );
  route(
    'put',
    '/api/settings/anthropic-key',
    'settings',
    "set the owner's own Anthropic key",
    {
      200: json('set (only its last four characters come back)', ownKeyStatus),
      ...badBody,
      400: failure('not a key (`invalid_body`, `invalid_key`)'),
      502: failure('the LLM proxy did not take it (`proxy_error`, platform mode)'),
    },
    { body: jsonBody(keySchema) },
  );
  route('delete', '/api/settings/anthropic-key', 'settings', 'forget the own key', {
    ...noContent,
    502: failure('the LLM proxy did not answer (`proxy_error`, platform mode)'),
  });

  registerJobs(registry);
  registerChannels(route);
  registerSocial(registry);
  registerAppliance(route);

  route('get', '/ws', 'events', 'the WebSocket: events out, `ping` / `chat.send` / `chat.cancel` in', {
    101: {
      description:
        'switching to the WebSocket (subprotocol `matrixos`; the token may ride as `matrixos.bearer.<token>`)',
    },
    404: failure('not a WebSocket upgrade: the route answers nothing else'),
  });
}

const channelSummaries: Record<string, string> = {
  'get /api/settings/telegram': 'the Telegram channel: bot, linked owner, link code, status',
  'put /api/settings/telegram': 'connect a bot token from @BotFather (asks Telegram: getMe, setWebhook)',
  'delete /api/settings/telegram': 'disconnect the bot and forget its token',
  'post /api/settings/telegram/link-code': 'a new code for the owner to send the bot, to link their chat',
  'delete /api/settings/telegram/owner': "unlink the owner's Telegram chat",
  'post /api/channels/telegram/webhook':
    "Telegram's webhook: public, answers only with the instance's `X-Telegram-Bot-Api-Secret-Token`",
};

/** The channel routes (`channels/routes.ts`), from their contract. */
function registerChannels(
  route: (
    method: 'get' | 'post' | 'put' | 'delete',
    path: string,
    tag: string,
    summary: string,
    responses: Responses,
    request?: Record<string, unknown>,
    security?: Security | null,
  ) => unknown,
): void {
  const limited = { 429: failure('too many requests in the window (`rate_limited`, with `Retry-After`)') };
  for (const contract of channelRouteContracts) {
    const webhook = contract.path === '/api/channels/telegram/webhook';
    const ok: Responses =
      contract.response === null
        ? { 204: { description: 'done' } }
        : { 200: json(webhook ? 'the update was taken' : 'the settings now', contract.response) };
    const reads = 'request' in contract;
    const responses: Responses = {
      ...ok,
      ...(reads ? badBody : {}),
      ...(contract.method === 'put'
        ? {
            400: failure(
              'not a bot token (`invalid_body`), or one Telegram does not know (`invalid_bot_token`)',
            ),
            502: failure('Telegram did not answer (`telegram_unreachable`)'),
          }
        : {}),
      ...(contract.method === 'get' ? {} : limited),
      ...(webhook ? { 401: failure('a missing or wrong webhook secret (`bad_secret`)') } : {}),
    };
    route(
      contract.method,
      contract.path,
      'channels',
      channelSummaries[`${contract.method} ${contract.path}`] ?? contract.path,
      responses,
      reads ? { body: jsonBody(contract.request) } : {},
      webhook ? null : owner,
    );
  }
}
