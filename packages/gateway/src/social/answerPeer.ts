import { readFile } from 'node:fs/promises';
import type Anthropic from '@anthropic-ai/sdk';
import type { MessageParam, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import type { Logger } from '@matrixos/shared';
import type { EventBus } from '../events/bus.ts';
import { homePaths } from '../home/layout.ts';
import type { Inbox } from '../inbox/store.ts';
import { describeFailure } from '../kernel/errors.ts';
import { readAiSettings } from '../kernel/settings.ts';
import type { PeerConversations, PeerItem } from './peerConversations.ts';
import { buildPeerPrompt } from './peerPrompt.ts';
import type { ReplyAllowance } from './replyAllowance.ts';

/** Output tokens per model call of an auto-reply: a few sentences, so a cap of N costs cents. */
export const PEER_MAX_TOKENS = 1024;
/** Model calls per incoming message: the answer, plus room to refuse a tool call or two. */
const MAX_CALLS = 3;
/** Messages of the conversation sent to the model: the recent end of it. */
const HISTORY_ITEMS = 30;

/** What the owner decided about auto-replies (the platform's social settings, or defaults). */
export interface AutoReplySettings {
  autoReply: boolean;
  dailyAutoReplyCap: number;
}

export interface PeerSandboxDeps {
  /** This instance's handle (the owner's). */
  handle: string;
  home: string;
  log: Logger;
  /** The Messages API client (the kernel's: the instance's own budget pays), or null with no key. */
  client(): Promise<Anthropic | null>;
  conversations: PeerConversations;
  allowance: ReplyAllowance;
  inbox: Inbox;
  bus: EventBus;
  /** The peer's public profile markdown, as published (null when there is none or it is unknown). */
  peerProfile(peer: string): Promise<string | null>;
  settings(): Promise<AutoReplySettings>;
  mode: 'single' | 'platform';
}

export interface PeerMessage {
  /** The sender's handle, authenticated by the transport. */
  peer: string;
  text: string;
  /** The settings the transport brought along (the platform's delivery does); else `deps.settings()`. */
  settings?: AutoReplySettings | undefined;
  /** The transport already put the message in the inbox and the conversation (see `record`). */
  recorded?: boolean | undefined;
}

export type UnansweredReason = 'auto_reply_off' | 'daily_cap' | 'no_key' | 'no_answer' | 'model_failed';

export type PeerAnswer =
  | { kind: 'replied'; text: string; usage: { inputTokens: number; outputTokens: number } }
  | { kind: 'unanswered'; reason: UnansweredReason; message: string };

const REFUSED = "Refused: there are no tools in a conversation with another user's AI. Answer in plain text.";

/**
 * Answers a message from another user's AI, in a sandbox: the model sees this instance's AI
 * profile, the sender's public profile and the conversation with that sender, nothing else, and
 * gets no tools at all (a tool call it makes anyway is refused and logged, never run). Both sides
 * land in the owner's inbox and in `~/data/peers/<peer>.json`. Transport-free: the caller (the
 * platform delivery route, the Matrix channel) sends `text` back the way the message came.
 * `peer` must already be a valid handle (the transport authenticated it).
 */
export async function answerPeer(deps: PeerSandboxDeps, input: PeerMessage): Promise<PeerAnswer> {
  const { peer } = input;
  if (!input.recorded) await record(deps, peer, { from: 'peer', text: input.text });

  const settings = input.settings ?? (await deps.settings());
  if (!settings.autoReply) {
    return unanswered(deps, peer, 'auto_reply_off', 'Auto-replies are off: the message waits for the owner.');
  }
  const anthropic = await deps.client();
  if (!anthropic) return unanswered(deps, peer, 'no_key', 'This instance has no AI key to answer with.');
  if (!(await deps.allowance.take(settings.dailyAutoReplyCap))) {
    return unanswered(
      deps,
      peer,
      'daily_cap',
      `Today's ${settings.dailyAutoReplyCap} auto-replies are used up: the message waits for the owner.`,
    );
  }

  const [aiProfile, peerProfile, history, ai] = await Promise.all([
    readFile(homePaths(deps.home).aiProfile, 'utf8').catch(() => null),
    deps.peerProfile(peer).catch(() => null),
    deps.conversations.get(peer),
    readAiSettings(deps.home, deps.log),
  ]);
  const system = buildPeerPrompt({ handle: deps.handle, peer, aiProfile, peerProfile });
  const messages = toMessages(history.slice(-HISTORY_ITEMS));
  const usage = { inputTokens: 0, outputTokens: 0 };
  let text = '';
  try {
    for (let call = 1; call <= MAX_CALLS; call++) {
      // No `tools`: the sandbox has none to offer, so nothing of the owner's is in reach.
      const message = await anthropic.messages.create({
        model: ai.model,
        max_tokens: PEER_MAX_TOKENS,
        system,
        messages,
      });
      usage.inputTokens += message.usage.input_tokens;
      usage.outputTokens += message.usage.output_tokens;
      text = message.content
        .filter((b): b is Anthropic.TextBlock => b.type === 'text')
        .map((b) => b.text)
        .join('')
        .trim();
      const calls = message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      if (!calls.length) break;
      deps.log.warn(
        { peer, tools: calls.map((c) => c.name) },
        'social sandbox: refused a tool call in a conversation with another AI',
      );
      messages.push({ role: 'assistant', content: message.content });
      messages.push({
        role: 'user',
        content: calls.map(
          (c): ToolResultBlockParam => ({
            type: 'tool_result',
            tool_use_id: c.id,
            content: REFUSED,
            is_error: true,
          }),
        ),
      });
      text = '';
    }
  } catch (err) {
    await deps.allowance.giveBack();
    const failure = describeFailure(err, deps.mode);
    deps.log.warn({ peer, code: failure.code }, 'social sandbox: the model call failed');
    return unanswered(deps, peer, 'model_failed', failure.message);
  }
  if (!text) return unanswered(deps, peer, 'no_answer', 'The AI did not answer in text.');
  await record(deps, peer, { from: 'me', text, auto: true });
  return { kind: 'replied', text, usage };
}

/** Puts one side of the conversation in the peer's file and the owner's inbox, and tells the shells. */
export async function record(
  deps: Pick<PeerSandboxDeps, 'conversations' | 'inbox' | 'bus'>,
  peer: string,
  item: Omit<PeerItem, 'at'>,
): Promise<PeerItem> {
  const saved = await deps.conversations.append(peer, item);
  const message = await deps.inbox.append({
    text: item.text,
    from: item.from === 'peer' ? `@${peer}'s AI` : item.auto ? 'Your AI (auto-reply)' : 'You',
    peer: {
      handle: peer,
      direction: item.from === 'peer' ? 'in' : 'out',
      ...(item.auto ? { auto: true } : {}),
    },
  });
  deps.bus.publish({ type: 'inbox.message', message });
  deps.bus.publish({ type: 'social.message', peer, item: saved });
  return saved;
}

function unanswered(
  deps: Pick<PeerSandboxDeps, 'bus' | 'log'>,
  peer: string,
  reason: UnansweredReason,
  message: string,
): PeerAnswer {
  deps.log.info({ peer, reason }, 'social sandbox: not answering');
  deps.bus.publish({ type: 'social.unanswered', peer, reason, message });
  return { kind: 'unanswered', reason, message };
}

/** The peer's messages as `user`, this side's as `assistant`; alternating, starting with the peer. */
function toMessages(items: PeerItem[]): MessageParam[] {
  const messages: MessageParam[] = [];
  for (const item of items) {
    const role = item.from === 'peer' ? 'user' : 'assistant';
    if (!messages.length && role === 'assistant') continue;
    const last = messages.at(-1);
    if (last?.role === role) last.content = `${last.content as string}\n\n${item.text}`;
    else messages.push({ role, content: item.text });
  }
  return messages;
}
