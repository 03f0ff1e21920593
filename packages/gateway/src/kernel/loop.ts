import type Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type { AppInfo } from '../apps/store.ts';
import type { Toolbox } from '../tools/toolbox.ts';
import type { ImageInput } from './readImage.ts';

/** What the loop reports while it runs, in order. */
export type LoopEvent =
  | { type: 'delta'; text: string }
  /** `preparing`: the model has started writing the call; `running`: its input is complete. */
  | { type: 'tool'; id: string; name: string; status: 'preparing' | 'running'; summary: string }
  | { type: 'tool_result'; id: string; name: string; ok: boolean; summary: string; app?: AppInfo };

export type StopReason = 'end_turn' | 'max_turns' | 'max_tokens' | 'refusal' | 'cancelled' | 'error';

export interface LoopResult {
  stopReason: StopReason;
  /** Set when `stopReason` is `error`: what the model call threw. */
  error?: unknown;
  usage: { inputTokens: number; outputTokens: number };
}

export interface LoopOptions {
  client: Anthropic;
  model: string;
  maxTokens: number;
  /** Model calls at most, tool round trips included. */
  maxTurns: number;
  system: string;
  toolbox: Toolbox;
  /** The conversation so far, ending with the owner's message; the loop appends to it. */
  messages: MessageParam[];
  signal: AbortSignal;
  emit(event: LoopEvent): void;
  /** Called after each append to `messages`, to keep the conversation on disk current. */
  saved(): Promise<void>;
}

/**
 * The agent loop: call the model (streaming), run the tools it asks for, send their results
 * back, until it answers without a tool call or `maxTurns` calls were made. `messages` stays a
 * valid conversation whatever happens: every `tool_use` gets a `tool_result`, and a failed call
 * leaves nothing half-written behind.
 */
export async function runAgentLoop(o: LoopOptions): Promise<LoopResult> {
  const usage = { inputTokens: 0, outputTokens: 0 };
  for (let turn = 1; ; turn++) {
    let partial = '';
    const stream = o.client.messages.stream(
      {
        model: o.model,
        max_tokens: o.maxTokens,
        system: o.system,
        tools: o.toolbox.definitions,
        messages: o.messages,
      },
      { signal: o.signal },
    );
    stream.on('text', (text) => {
      partial += text;
      o.emit({ type: 'delta', text });
    });
    stream.on('streamEvent', (event) => {
      if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
        const { id, name } = event.content_block;
        o.emit({ type: 'tool', id, name, status: 'preparing', summary: '' });
      }
    });

    let message: Anthropic.Message;
    try {
      message = await stream.finalMessage();
    } catch (error) {
      if (!o.signal.aborted) return { stopReason: 'error', error, usage };
      // Cancelled: keep what the owner already saw, so the model knows it too.
      if (partial.trim()) {
        o.messages.push({ role: 'assistant', content: [{ type: 'text', text: partial }] });
        await o.saved();
      }
      return { stopReason: 'cancelled', usage };
    }
    usage.inputTokens += message.usage.input_tokens;
    usage.outputTokens += message.usage.output_tokens;
    if (message.content.length) {
      o.messages.push({ role: 'assistant', content: message.content as ContentBlockParam[] });
    }
    const calls = message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');

    if (message.stop_reason !== 'tool_use') {
      // A call cut off by max_tokens has incomplete input: answer it, never run it.
      if (calls.length) {
        o.messages.push({
          role: 'user',
          content: calls.map((c) => errorResult(c.id, 'Not run: your answer was cut off at max_tokens.')),
        });
      }
      await o.saved();
      const stop = message.stop_reason;
      return { stopReason: stop === 'max_tokens' || stop === 'refusal' ? stop : 'end_turn', usage };
    }

    const results: ToolResultBlockParam[] = [];
    for (const call of calls) {
      if (o.signal.aborted) {
        results.push(errorResult(call.id, 'Not run: the owner cancelled.'));
        continue;
      }
      o.emit({
        type: 'tool',
        id: call.id,
        name: call.name,
        status: 'running',
        summary: o.toolbox.describe(call.name, call.input),
      });
      const outcome = await o.toolbox.run(call.name, call.input);
      o.emit({
        type: 'tool_result',
        id: call.id,
        name: call.name,
        ok: outcome.ok,
        summary: outcome.summary,
        ...(outcome.app ? { app: outcome.app } : {}),
      });
      results.push(
        outcome.ok
          ? { type: 'tool_result', tool_use_id: call.id, content: outcome.content }
          : errorResult(call.id, outcome.content),
      );
    }
    o.messages.push({ role: 'user', content: results });
    await o.saved();
    if (o.signal.aborted) return { stopReason: 'cancelled', usage };
    if (turn >= o.maxTurns) return { stopReason: 'max_turns', usage };
  }
}

function errorResult(id: string, content: string): ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content, is_error: true };
}

/**
 * Adds the owner's message. After a turn that ended without an answer (an error, a cut-off, the
 * turn bound) the conversation already ends with a user message: the text joins it, since the
 * API wants user and assistant messages to alternate.
 */
export function appendUserText(messages: MessageParam[], text: string, images: ImageInput[] = []): void {
  // Images first, then the words about them (what the Messages API documentation advises).
  const added: ContentBlockParam[] = [
    ...images.map(
      (i): ContentBlockParam => ({
        type: 'image',
        source: { type: 'base64', media_type: i.mediaType, data: i.base64 },
      }),
    ),
    { type: 'text', text },
  ];
  const last = messages.at(-1);
  if (last?.role !== 'user') {
    messages.push({ role: 'user', content: added });
    return;
  }
  const blocks: ContentBlockParam[] =
    typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : last.content;
  last.content = [...blocks, ...added];
}
