/**
 * The gateway's WebSocket protocol (`/ws`), both directions, as zod schemas: the one definition
 * the server validates against and the shell's browser code is type-checked against (JSDoc
 * `import('…/events/contract.ts')`). Kept free of Node imports, so the browser check can load it.
 * docs/shell.md describes the protocol in words.
 */
import { z } from 'zod';

/** The longest chat message a shell may send. */
export const MAX_CHAT_CHARS = 20_000;
export const CONVERSATION_ID_PATTERN = /^c_[0-9a-z]{9}[0-9a-f]{8}$/;

const conversationId = z.string().regex(CONVERSATION_ID_PATTERN, 'is not a conversation id');

/** What a shell sends. */
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping') }),
  z.object({
    type: z.literal('chat.send'),
    text: z.string().max(MAX_CHAT_CHARS, `must be at most ${MAX_CHAT_CHARS} characters`),
    conversationId: conversationId.optional(),
    /** Echoed in the turn's `chat.started` (and in a refusal), so the sender knows its own. */
    requestId: z.string().max(100).optional(),
  }),
  z.object({ type: z.literal('chat.cancel'), conversationId }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export const CLIENT_MESSAGE_TYPES = clientMessageSchema.options.map((o) => o.shape.type.value);

export const appInfoSchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  url: z.string(),
  updatedAt: z.string().nullable(),
});

/** Set on messages of a conversation with another user's AI: who, and which way it went. */
export const inboxPeerSchema = z.object({
  handle: z.string(),
  direction: z.enum(['in', 'out']),
  /** An answer the sandbox wrote on its own (out only). */
  auto: z.boolean().optional(),
});

export const inboxMessageSchema = z.object({
  id: z.string(),
  text: z.string(),
  from: z.string().nullable(),
  receivedAt: z.string(),
  peer: inboxPeerSchema.optional(),
});

/** One message of a conversation with another user's AI (`~/data/peers/<handle>.json`). */
export const peerItemSchema = z.object({
  from: z.enum(['peer', 'me']),
  text: z.string(),
  at: z.string(),
  auto: z.boolean().optional(),
});

export const stopReasonSchema = z.enum([
  'end_turn',
  'max_turns',
  'max_tokens',
  'refusal',
  'cancelled',
  'error',
]);

/** Every event of one turn of a chat names its conversation and the turn. */
const turn = { conversationId: z.string(), turnId: z.string() };

/** What the kernel tells every shell while it answers. */
export const chatEventSchemas = [
  z.object({
    type: z.literal('chat.started'),
    ...turn,
    requestId: z.string().nullable(),
    title: z.string(),
    text: z.string(),
  }),
  z.object({ type: z.literal('chat.delta'), ...turn, text: z.string() }),
  z.object({
    type: z.literal('chat.tool'),
    ...turn,
    id: z.string(),
    name: z.string(),
    status: z.enum(['preparing', 'running']),
    summary: z.string(),
  }),
  z.object({
    type: z.literal('chat.tool_result'),
    ...turn,
    id: z.string(),
    name: z.string(),
    ok: z.boolean(),
    summary: z.string(),
    app: appInfoSchema.optional(),
  }),
  /** `code` is machine-readable (kernel/errors.ts lists them); `message` is for the owner. */
  z.object({ type: z.literal('chat.error'), ...turn, code: z.string(), message: z.string() }),
  z.object({
    type: z.literal('chat.done'),
    ...turn,
    stopReason: stopReasonSchema,
    usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }),
  }),
] as const;

/** What the instance broadcasts to every open shell (the event bus). */
export const gatewayEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('inbox.message'), message: inboxMessageSchema }),
  /** A message to or from another user's AI: the Community app shows the conversation live. */
  z.object({ type: z.literal('social.message'), peer: z.string(), item: peerItemSchema }),
  /** The sandbox did not answer a peer (auto-replies off, the daily cap, a failed model call). */
  z.object({
    type: z.literal('social.unanswered'),
    peer: z.string(),
    reason: z.string(),
    message: z.string(),
  }),
  z.object({
    type: z.literal('files.changed'),
    path: z.string(),
    action: z.enum(['created', 'updated', 'deleted']),
  }),
  ...chatEventSchemas,
]);
export type GatewayEvent = z.infer<typeof gatewayEventSchema>;
export type ChatEvent = Extract<GatewayEvent, { type: `chat.${string}` }>;

/** What one shell hears: the broadcasts, plus the answers to its own messages. */
export const serverEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), handle: z.string(), version: z.string() }),
  z.object({ type: z.literal('pong'), time: z.string() }),
  /** A refused client message, to its sender only. */
  z.object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    requestId: z.string().nullable().optional(),
  }),
  ...gatewayEventSchema.options,
]);
export type ServerEvent = z.infer<typeof serverEventSchema>;
