/**
 * What the stand-in answers, scripted per test. A `message` script is written as SSE when the
 * request asked for `stream: true` and as JSON otherwise, so a test describes what the model says
 * without caring how the caller reads it.
 */

export interface ScriptUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  /** The per-TTL split of the cache writes, as the API reports it. */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  server_tool_use?: { web_search_requests?: number; web_fetch_requests?: number };
}

export type ContentSpec =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name: string; input: unknown }
  | { type: 'thinking'; thinking: string; signature?: string };

export interface MessageScript {
  kind: 'message';
  /** Shorthand for `content: [{ type: 'text', text }]`. */
  text?: string;
  content?: ContentSpec[];
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal';
  /** The final usage; the stand-in makes one up from the sizes when absent. */
  usage?: ScriptUsage;
  /** Defaults to the requested model. */
  model?: string;
  headers?: Record<string, string>;
  /** Wait before the response headers (time to first byte). */
  firstByteDelayMs?: number;
  /** Answer only once this settles: a test decides when the response starts. */
  gate?: Promise<unknown>;
  /** Wait between SSE events. */
  eventDelayMs?: number;
  /** Characters per text/thinking delta, and per input_json_delta (default 8). */
  deltaSize?: number;
  /** Send a `ping` after `message_start` (default true). */
  ping?: boolean;
  /** Insert an event type the API does not have (yet), which a proxy must forward as it is. */
  unknownEvent?: boolean;
  /** After this many events, send an `error` event (HTTP status stays 200) and end the stream. */
  errorAfterEvents?: number;
  errorType?: string;
  /** After this many events, write nothing more and keep the connection open until the caller leaves. */
  hangAfterEvents?: number;
}

export interface ErrorScript {
  kind: 'error';
  status: number;
  type: string;
  message: string;
  headers?: Record<string, string>;
  firstByteDelayMs?: number;
}

/** Exact bytes, for tests that need a particular framing. */
export interface RawScript {
  kind: 'raw';
  status?: number;
  headers?: Record<string, string>;
  chunks: (string | Uint8Array)[];
  chunkDelayMs?: number;
}

export type Script = MessageScript | ErrorScript | RawScript;

export const reply = (text: string, more: Omit<MessageScript, 'kind' | 'text'> = {}): MessageScript => ({
  kind: 'message',
  text,
  ...more,
});

export const toolCall = (
  name: string,
  input: unknown,
  more: Omit<MessageScript, 'kind'> = {},
): MessageScript => ({
  kind: 'message',
  content: [{ type: 'tool_use', name, input }],
  stopReason: 'tool_use',
  ...more,
});

/** A 429 as the API sends it: `rate_limit_error` with `retry-after` and rate-limit headers. */
export const rateLimited = (retryAfterSeconds = 1): ErrorScript => ({
  kind: 'error',
  status: 429,
  type: 'rate_limit_error',
  message: 'Number of request tokens has exceeded your per-minute rate limit',
  headers: {
    'retry-after': String(retryAfterSeconds),
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': new Date(Date.now() + retryAfterSeconds * 1000).toISOString(),
  },
});

/** A 529: the API is overloaded. */
export const overloaded = (): ErrorScript => ({
  kind: 'error',
  status: 529,
  type: 'overloaded_error',
  message: 'Overloaded',
  headers: { 'x-should-retry': 'true' },
});

export function contentOf(s: MessageScript): ContentSpec[] {
  return s.content ?? [{ type: 'text', text: s.text ?? '' }];
}

/** Usage the stand-in reports when the script gives none: about 4 bytes per token. */
export function inventedUsage(s: MessageScript, requestBytes: number): ScriptUsage {
  const outBytes = JSON.stringify(contentOf(s)).length;
  return { input_tokens: Math.ceil(requestBytes / 4), output_tokens: Math.max(1, Math.ceil(outBytes / 4)) };
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

export interface BuiltMessage {
  id: string;
  model: string;
  content: Record<string, unknown>[];
  stopReason: string;
  usage: ScriptUsage;
}

/** The Messages API JSON response for a script. */
export function messageJson(m: BuiltMessage): Record<string, unknown> {
  return {
    id: m.id,
    type: 'message',
    role: 'assistant',
    model: m.model,
    content: m.content,
    stop_reason: m.stopReason,
    stop_sequence: null,
    usage: { ...m.usage, service_tier: 'standard' },
  };
}

export function buildMessage(s: MessageScript, id: string, model: string, usage: ScriptUsage): BuiltMessage {
  let n = 0;
  const content = contentOf(s).map((c) => {
    if (c.type === 'tool_use')
      return { type: 'tool_use', id: c.id ?? `toolu_standin_${id}_${n++}`, name: c.name, input: c.input };
    if (c.type === 'thinking')
      return { type: 'thinking', thinking: c.thinking, signature: c.signature ?? 'c2lnbmF0dXJl' };
    return { type: 'text', text: c.text };
  });
  const stopReason = s.stopReason ?? (content.some((c) => c.type === 'tool_use') ? 'tool_use' : 'end_turn');
  return { id, model: s.model ?? model, content, stopReason, usage };
}

const sse = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * The SSE events of a streamed response, in the API's order: `message_start` (input and cache
 * counts, a provisional output count of 1), `ping`, each content block as start / deltas / stop,
 * `message_delta` with the cumulative final usage, `message_stop`.
 */
export function messageEvents(s: MessageScript, m: BuiltMessage): string[] {
  const size = s.deltaSize ?? 8;
  const startUsage = { ...m.usage, output_tokens: 1, service_tier: 'standard' };
  delete (startUsage as { server_tool_use?: unknown }).server_tool_use;
  const events = [
    sse('message_start', {
      message: { ...messageJson(m), content: [], stop_reason: null, stop_sequence: null, usage: startUsage },
    }),
  ];
  if (s.ping !== false) events.push(sse('ping', {}));
  m.content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      events.push(sse('content_block_start', { index, content_block: { ...block, input: {} } }));
      for (const part of chunks(JSON.stringify(block.input), size)) {
        events.push(
          sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } }),
        );
      }
    } else if (block.type === 'thinking') {
      events.push(
        sse('content_block_start', {
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        }),
      );
      for (const part of chunks(String(block.thinking), size)) {
        events.push(sse('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: part } }));
      }
      events.push(
        sse('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } }),
      );
    } else {
      events.push(sse('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const part of chunks(String(block.text), size)) {
        events.push(sse('content_block_delta', { index, delta: { type: 'text_delta', text: part } }));
      }
    }
    events.push(sse('content_block_stop', { index }));
  });
  if (s.unknownEvent) events.push(sse('future_event', { note: 'an event type this proxy has never seen' }));
  events.push(
    sse('message_delta', {
      delta: { stop_reason: m.stopReason, stop_sequence: null },
      usage: { ...m.usage },
    }),
    sse('message_stop', {}),
  );
  return events;
}

export function errorEvent(type: string, message: string): string {
  return sse('error', { error: { type, message } });
}
