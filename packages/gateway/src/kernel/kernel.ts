import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { HttpError, type Logger } from '@matrixos/shared';
import type { AppStore } from '../apps/store.ts';
import type { GatewayConfig } from '../config.ts';
import type { Conversation, ConversationStore } from '../conversations/store.ts';
import type { ChatEvent, EventBus } from '../events/bus.ts';
import type { Toolbox } from '../tools/toolbox.ts';
import { type Budget, fetchBudget } from './budget.ts';
import { type ChatFailure, describeFailure } from './errors.ts';
import { appendUserText, runAgentLoop } from './loop.ts';
import type { OwnKey } from './own-key.ts';
import { buildSystemPrompt } from './prompt.ts';
import { type ImageInput, MAX_IMAGES } from './readImage.ts';
import { readAiSettings } from './settings.ts';

export { MAX_CHAT_CHARS } from '../events/contract.ts';

import { MAX_CHAT_CHARS } from '../events/contract.ts';

export interface Kernel {
  /**
   * Starts a turn: the owner's text, into a conversation (a new one without an id). Resolves
   * once the turn has begun; its progress is published on the bus as `chat.*` events.
   * Refuses (409) while that conversation's previous turn is still running.
   */
  send(input: {
    text: string;
    /** Images the model sees with the text (a photo sent on a channel); see readImage. */
    images?: ImageInput[] | undefined;
    conversationId?: string | undefined;
    requestId?: string | undefined;
  }): Promise<{
    conversationId: string;
    turnId: string;
  }>;
  /** Stops the running turn of a conversation; false when none runs. */
  cancel(conversationId: string): boolean;
  /** Stops every running turn (shutdown). */
  cancelAll(): void;
  /** The Messages API client for the current key; null when there is no key. */
  client(): Promise<Anthropic | null>;
}

export interface KernelDeps {
  config: Pick<GatewayConfig, 'mode' | 'home' | 'handle' | 'anthropicBaseUrl' | 'anthropicApiKey'>;
  log: Logger;
  bus: EventBus;
  conversations: ConversationStore;
  apps: AppStore;
  toolbox: Toolbox;
  ownKey: OwnKey;
}

/** The AI kernel: one agent loop per turn, at most one turn at a time per conversation. */
export function createKernel(deps: KernelDeps): Kernel {
  const { config, log, bus, conversations } = deps;
  const running = new Map<string, AbortController>();
  const clients = new Map<string, Anthropic>();

  /** The client for the current key, kept while the key stays the same (it pools connections). */
  async function client(): Promise<Anthropic | null> {
    const key =
      config.mode === 'single'
        ? ((await deps.ownKey.stored()) ?? config.anthropicApiKey)
        : config.anthropicApiKey;
    if (!key) return null;
    let existing = clients.get(key);
    if (!existing) {
      // Loaded on first use: the SDK is most of the gateway's code, and an instance that is
      // awake without chatting (a file sync, a health check) keeps ~20 MB less.
      const { Anthropic } = await import('@anthropic-ai/sdk');
      clients.clear();
      // The SDK retries 429 and 5xx answers that allow it (twice); the proxy's refusals do not.
      existing = new Anthropic({ apiKey: key, baseURL: config.anthropicBaseUrl });
      clients.set(key, existing);
    }
    return existing;
  }

  async function budget(): Promise<Budget | null> {
    if (config.mode !== 'platform' || !config.anthropicApiKey) return null;
    return fetchBudget({
      baseUrl: config.anthropicBaseUrl,
      handle: config.handle,
      apiKey: config.anthropicApiKey,
      log,
    });
  }

  async function runTurn(conversation: Conversation, turnId: string, signal: AbortSignal): Promise<void> {
    const publish = (event: Record<string, unknown> & { type: ChatEvent['type'] }) =>
      bus.publish({ ...event, conversationId: conversation.id, turnId } as ChatEvent);
    const fail = (failure: ChatFailure) => {
      publish({ type: 'chat.error', ...failure });
      publish({ type: 'chat.done', stopReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } });
    };
    const anthropic = await client();
    if (!anthropic) {
      return fail({
        code: 'no_key',
        message:
          config.mode === 'single'
            ? 'No Anthropic API key is set up yet. Add yours in Settings to start chatting.'
            : 'This instance has no AI key. The platform gives it one when it starts the instance: ask its operator.',
      });
    }
    const [settings, apps, currentBudget] = await Promise.all([
      readAiSettings(config.home, log),
      deps.apps.list(),
      budget(),
    ]);
    const system = await buildSystemPrompt({
      home: config.home,
      handle: config.handle,
      budget: currentBudget,
      apps,
      now: new Date(),
    });
    const result = await runAgentLoop({
      client: anthropic,
      model: settings.model,
      maxTokens: settings.maxTokens,
      maxTurns: settings.maxTurns,
      system,
      toolbox: deps.toolbox,
      messages: conversation.messages,
      signal,
      saved: () => conversations.save(conversation),
      emit(event) {
        if (event.type === 'delta') publish({ type: 'chat.delta', text: event.text });
        else publish({ ...event, type: event.type === 'tool' ? 'chat.tool' : 'chat.tool_result' });
      },
    });
    if (result.stopReason === 'error') {
      const failure = describeFailure(result.error, config.mode);
      if (failure.code === 'internal') {
        log.error({ err: result.error }, 'the model call failed');
      } else {
        // Expected failures (a budget, an outage): what the API said, without a stack trace.
        const { status, requestID, apiMessage } = result.error as {
          status?: number;
          requestID?: string;
          apiMessage?: string;
        };
        log.warn(
          { code: failure.code, status, requestId: requestID, detail: apiMessage },
          'the model call failed',
        );
      }
      publish({ type: 'chat.error', ...failure });
    }
    publish({ type: 'chat.done', stopReason: result.stopReason, usage: result.usage });
  }

  return {
    async send({ text, images = [], conversationId, requestId }) {
      if (!text.trim()) throw new HttpError(400, 'empty_message', 'the message is empty');
      if (images.length > MAX_IMAGES) {
        throw new HttpError(400, 'too_many_images', `a message carries at most ${MAX_IMAGES} images`);
      }
      if (text.length > MAX_CHAT_CHARS) {
        throw new HttpError(400, 'message_too_long', `a message is at most ${MAX_CHAT_CHARS} characters`);
      }
      const conversation = conversationId
        ? await conversations.get(conversationId)
        : conversations.create(titleOf(text));
      if (!conversation) throw new HttpError(404, 'not_found', 'no such conversation');
      // Checked and taken with no await in between: two sends cannot both start a turn.
      if (running.has(conversation.id)) {
        throw new HttpError(
          409,
          'busy',
          'the AI is still answering in this conversation: wait, or cancel it',
        );
      }
      const controller = new AbortController();
      running.set(conversation.id, controller);
      const turnId = `t_${randomBytes(6).toString('hex')}`;
      try {
        appendUserText(conversation.messages, text, images);
        await conversations.save(conversation);
      } catch (err) {
        running.delete(conversation.id);
        throw err;
      }
      bus.publish({
        type: 'chat.started',
        conversationId: conversation.id,
        turnId,
        requestId: requestId ?? null,
        title: conversation.title,
        text,
      });
      runTurn(conversation, turnId, controller.signal)
        .catch((err) => {
          log.error({ err }, 'a chat turn failed');
          bus.publish({
            type: 'chat.error',
            conversationId: conversation.id,
            turnId,
            ...describeFailure(err, config.mode),
          });
          bus.publish({
            type: 'chat.done',
            conversationId: conversation.id,
            turnId,
            stopReason: 'error',
            usage: { inputTokens: 0, outputTokens: 0 },
          });
        })
        .finally(() => running.delete(conversation.id));
      return { conversationId: conversation.id, turnId };
    },
    cancel(conversationId) {
      const controller = running.get(conversationId);
      controller?.abort();
      return controller !== undefined;
    },
    cancelAll() {
      for (const controller of running.values()) controller.abort();
    },
    client,
  };
}

/** The first line of the first message, shortened at a word. */
function titleOf(text: string): string {
  const line = text.trim().split('\n')[0]!.trim();
  if (line.length <= 60) return line;
  const cut = line.slice(0, 60);
  return `${cut.slice(0, cut.lastIndexOf(' ') > 30 ? cut.lastIndexOf(' ') : 60)}…`;
}
