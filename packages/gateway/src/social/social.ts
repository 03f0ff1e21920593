import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import { type SendReply, SOCIAL_DEFAULTS, type SocialDelivery } from '@matrixos/platform/social';
import { HttpError, type Logger } from '@matrixos/shared';
import type { GatewayConfig } from '../config.ts';
import type { EventBus } from '../events/bus.ts';
import { homePaths } from '../home/layout.ts';
import type { Inbox } from '../inbox/store.ts';
import { type AutoReplySettings, record } from './answerPeer.ts';
import { createPeerConversations, type PeerConversations } from './peerConversations.ts';
import { createPeerSandbox, type PeerSandbox } from './peerSandbox.ts';
import { createReplyAllowance } from './replyAllowance.ts';
import { createSocialClient, type SocialClient } from './socialClient.ts';

/** The instance's side of the social API: its platform client, the sandbox, the conversations. */
export interface Social {
  /** null without a platform (single-user mode): no community to reach. */
  client: SocialClient | null;
  sandbox: PeerSandbox;
  conversations: PeerConversations;
  /**
   * A message the platform delivered: into the inbox now (the platform hears 2xx after it is
   * fsynced), answered in the sandbox afterwards unless it is itself an answer.
   */
  receive(delivery: SocialDelivery): Promise<{ answered: Promise<void> }>;
  /** The owner (the shell, or the kernel's message_ai) messages another user's AI. */
  send(handle: string, text: string): Promise<SendReply>;
}

export function createSocial(deps: {
  config: Pick<GatewayConfig, 'home' | 'handle' | 'mode' | 'platformUrl'>;
  token: string;
  log: Logger;
  inbox: Inbox;
  bus: EventBus;
  /** The kernel's Messages API client: auto-replies spend this instance's own budget. */
  modelClient(): Promise<Anthropic | null>;
}): Social {
  const { config, log } = deps;
  const client = config.platformUrl
    ? createSocialClient({ url: config.platformUrl, token: deps.token, log })
    : null;
  const conversations = createPeerConversations(join(config.home, 'data', 'peers'));
  const sandbox = createPeerSandbox({
    handle: config.handle,
    home: config.home,
    log,
    mode: config.mode,
    client: deps.modelClient,
    conversations,
    allowance: createReplyAllowance(join(homePaths(config.home).privateDir, 'auto-replies.json')),
    inbox: deps.inbox,
    bus: deps.bus,
    async peerProfile(peer) {
      return client ? (await client.profile(peer)).markdown : null;
    },
    async settings(): Promise<AutoReplySettings> {
      if (!client) return SOCIAL_DEFAULTS;
      try {
        return await client.settings();
      } catch {
        // Unknown settings: the safe side is not to spend the owner's budget.
        return { autoReply: false, dailyAutoReplyCap: 0 };
      }
    },
  });

  return {
    client,
    sandbox,
    conversations,
    async receive(delivery) {
      await record({ conversations, inbox: deps.inbox, bus: deps.bus }, delivery.from, {
        from: 'peer',
        text: delivery.text,
      });
      // An answer is never answered again: two AIs cannot talk each other's budgets away.
      if (delivery.inReplyTo !== null) return { answered: Promise.resolve() };
      const answered = sandbox
        .answer({ peer: delivery.from, text: delivery.text, settings: delivery.recipient, recorded: true })
        .then(async (answer) => {
          if (answer.kind !== 'replied' || !client) return;
          await client.send(delivery.from, { text: answer.text, inReplyTo: delivery.id });
        })
        .catch((err) => log.warn({ err, peer: delivery.from }, 'social: the auto-reply was not sent'));
      return { answered };
    },
    async send(handle, text) {
      if (!client) {
        throw new HttpError(409, 'no_platform', 'this instance runs alone: there is no community to message');
      }
      const sent = await client.send(handle, { text });
      await record({ conversations, inbox: deps.inbox, bus: deps.bus }, handle, { from: 'me', text });
      return sent;
    },
  };
}
