import { NO_USAGE, type TokenUsage } from '../pricing/cost.ts';

/** The fields of the API's `usage` object that billing reads (all optional on the wire). */
interface ApiUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: {
    ephemeral_5m_input_tokens?: number | null;
    ephemeral_1h_input_tokens?: number | null;
  } | null;
  server_tool_use?: { web_search_requests?: number | null } | null;
}

/** Generated text is estimated at one token per 3 bytes when the API did not get to say. */
const BYTES_PER_OUTPUT_TOKEN = 3;

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;

export type MeterResult =
  /** The API's own final count (a complete JSON response, or a stream that reached `message_delta`). */
  | { source: 'reported'; usage: TokenUsage }
  /** A stream cut short: input as the API reported it, output at least what was streamed. */
  | { source: 'partial'; usage: TokenUsage }
  /** The API never said how long the prompt was. */
  | { source: 'none'; usage: TokenUsage };

/**
 * Follows a response's usage the way the API defines it: `message_start` carries the input and
 * cache counts and a provisional output count; each `message_delta` carries cumulative counts
 * that replace earlier ones (never added to them); a JSON response carries the final counts.
 */
export class UsageMeter {
  #input = 0;
  #output = 0;
  #cacheCreation = 0;
  #cache5m: number | undefined;
  #cache1h: number | undefined;
  #cacheRead = 0;
  #webSearches = 0;
  #generatedBytes = 0;
  #started = false;
  #final = false;
  /** The `error.type` of an `error` event, when the stream carried one. */
  error: string | null = null;

  get started(): boolean {
    return this.#started;
  }

  /** One server-sent event's data (the proxy forwards it unchanged whatever it holds). */
  onEvent(data: string): void {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    switch (event.type) {
      case 'message_start': {
        const message = event.message as { usage?: ApiUsage } | undefined;
        this.#started = true;
        this.#merge(message?.usage);
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta as Record<string, unknown> | undefined;
        const text = delta?.text ?? delta?.partial_json ?? delta?.thinking;
        if (typeof text === 'string') this.#generatedBytes += Buffer.byteLength(text);
        break;
      }
      case 'message_delta':
        this.#merge(event.usage as ApiUsage | undefined);
        this.#final = true;
        break;
      case 'error': {
        const error = event.error as { type?: unknown } | undefined;
        this.error = typeof error?.type === 'string' ? error.type : 'error';
        break;
      }
    }
  }

  /** A complete (non-streaming) Messages API response body. */
  onMessage(body: string): void {
    try {
      const message = JSON.parse(body) as { usage?: ApiUsage };
      if (!message.usage) return;
      this.#started = true;
      this.#final = true;
      this.#merge(message.usage);
    } catch {
      // Unparseable: result() reports 'none' and the caller bills its estimate.
    }
  }

  #merge(u: ApiUsage | undefined | null): void {
    if (!u) return;
    this.#input = num(u.input_tokens) ?? this.#input;
    this.#output = num(u.output_tokens) ?? this.#output;
    this.#cacheCreation = num(u.cache_creation_input_tokens) ?? this.#cacheCreation;
    this.#cacheRead = num(u.cache_read_input_tokens) ?? this.#cacheRead;
    this.#cache5m = num(u.cache_creation?.ephemeral_5m_input_tokens) ?? this.#cache5m;
    this.#cache1h = num(u.cache_creation?.ephemeral_1h_input_tokens) ?? this.#cache1h;
    this.#webSearches = num(u.server_tool_use?.web_search_requests) ?? this.#webSearches;
  }

  result(): MeterResult {
    // Without the per-TTL split, every cache write is a 5-minute one (the API's default).
    const split1h = this.#cache1h ?? 0;
    const split5m = this.#cache5m ?? 0;
    const usage: TokenUsage = {
      inputTokens: this.#input,
      outputTokens: this.#output,
      cacheWrite1hTokens: split1h,
      cacheWrite5mTokens: split5m + Math.max(0, this.#cacheCreation - split5m - split1h),
      cacheReadTokens: this.#cacheRead,
      webSearchRequests: this.#webSearches,
    };
    if (!this.#started) return { source: 'none', usage: { ...NO_USAGE } };
    if (this.#final) return { source: 'reported', usage };
    const streamed = Math.ceil(this.#generatedBytes / BYTES_PER_OUTPUT_TOKEN);
    return { source: 'partial', usage: { ...usage, outputTokens: Math.max(usage.outputTokens, streamed) } };
  }
}
