import type { Logger } from '@matrixos/shared';
import {
  ClientEvent,
  createClient,
  EventType,
  type MatrixClient,
  type MatrixEvent,
  MsgType,
  Preset,
  type Room,
  RoomEvent,
  SyncState,
} from 'matrix-js-sdk';
// The SDK's parts that log through its global logger (the send queue, sync) ignore the client's.
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Activity } from '../../activity.ts';
import type { EventBus } from '../../events/bus.ts';
import type { Inbox } from '../../inbox/store.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { record } from '../../social/answerPeer.ts';
import type { Social } from '../../social/social.ts';
import type { Channel, ChannelStatus } from '../channel.ts';
import { deliver } from '../deliver.ts';
import { classifySender } from './classifySender.ts';
import { createMatrixState, type MatrixState } from './matrixState.ts';

/** What the platform put in the instance's environment for `@{handle}_ai` (docs/matrix.md). */
export interface MatrixSettings {
  homeserverUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string | undefined;
  /** The owner's own `@{handle}`: the only account whose messages reach the full AI. */
  ownerId: string;
}

/** Longest message handed to the AI (a Matrix event is at most 64 KiB anyway). */
const MAX_TEXT = 16_000;

export const MATRIX_TEXT = {
  stranger: 'Sorry, this is a private assistant: it answers only its owner and other Matrix OS AIs.',
} as const;

export interface MatrixChannel extends Channel {
  /** This AI messages `@{handle}_ai` in a room of its own with them (made on first use). */
  sendToPeer(handle: string, text: string): Promise<{ roomId: string; eventId: string }>;
  /** The Matrix id of another user's AI. */
  peerId(handle: string): string;
}

// A loglevel logger pinned at DEBUG: every sent event would be a line on stdout. Its children
// (the send queue, call sessions) copy its method factory: only warnings and errors pass, to stderr.
{
  const root = sdkGlobalLogger as unknown as {
    methodFactory: (method: string) => (...args: unknown[]) => void;
    rebuild(): void;
  };
  root.methodFactory = (method) =>
    method === 'warn' || method === 'error'
      ? (...args) => console.error('[matrix-js-sdk]', ...args)
      : () => {};
  root.rebuild();
}

/** matrix-js-sdk talks a lot at debug level: only its warnings reach the gateway's log. */
function sdkLogger(log: Logger) {
  const quiet = () => {};
  const logger = {
    trace: quiet,
    debug: quiet,
    info: quiet,
    // Its warnings are mostly about push rules it fills in: debug; its errors are worth a warning.
    warn: (...msg: unknown[]) => log.debug({ sdk: msg.map(String).join(' ') }, 'matrix-js-sdk'),
    error: (...msg: unknown[]) => log.warn({ sdk: msg.map(String).join(' ') }, 'matrix-js-sdk error'),
    getChild: () => logger,
  };
  return logger;
}

/**
 * `@{handle}_ai` on Matrix, with matrix-js-sdk (no end-to-end encryption: crypto is optional and
 * AI-to-AI rooms are on the platform's own homeserver). While the instance is awake it syncs;
 * DMs from the owner's `@{handle}` are a full chat with their AI (like Telegram's), DMs from
 * another `@{x}_ai` are answered in the social sandbox (no tools, nothing of the owner's), and in
 * rooms this AI opened, the other AI's messages are answers: recorded, never answered again.
 */
export function createMatrixChannel(deps: {
  settings: MatrixSettings | null;
  home: string;
  log: Logger;
  kernel: Kernel;
  bus: EventBus;
  activity: Activity;
  social: Social;
  /** The owner's inbox: both sides of AI-to-AI conversations show there. */
  inbox: Inbox;
}): MatrixChannel {
  const { settings, log } = deps;
  const store = createMatrixState(deps.home);
  let client: MatrixClient | null = null;
  let state: MatrixState | null = null;
  let status: ChannelStatus = { name: 'matrix', state: 'off', linked: false };
  // One message at a time per room, in order.
  const queues = new Map<string, Promise<void>>();

  const save = () => (state ? store.write(state) : Promise.resolve());

  function enqueue(roomId: string, work: () => Promise<void>): void {
    const next = (queues.get(roomId) ?? Promise.resolve())
      .then(work)
      .catch((err) => log.warn({ err, roomId }, 'a Matrix message could not be handled'));
    queues.set(roomId, next);
    void next.finally(() => {
      if (queues.get(roomId) === next) queues.delete(roomId);
    });
  }

  async function send(roomId: string, text: string): Promise<string> {
    if (!client) throw new Error('the Matrix channel is not running');
    const r = await client.sendMessage(roomId, { msgtype: MsgType.Text, body: text });
    return r.event_id;
  }

  function onInvite(room: Room): void {
    if (!client || !settings) return;
    const inviter = room.getMember(settings.userId)?.events.member?.getSender() ?? '';
    const who = classifySender(inviter, settings);
    const c = client;
    if (who.kind === 'owner' || who.kind === 'peer') {
      c.joinRoom(room.roomId).catch((err) => log.warn({ err, roomId: room.roomId }, 'could not join'));
    } else {
      log.info({ inviter }, 'matrix: declined an invite from a stranger');
      c.leave(room.roomId).catch(() => undefined);
    }
  }

  function onTimeline(event: MatrixEvent, room: Room | undefined, toStart: boolean | undefined): void {
    if (toStart || !room || !settings || !state) return;
    if (event.getType() !== EventType.RoomMessage) return;
    const ts = event.getTs();
    // Seen before this sleep (the first sync after a wake replays the recent timeline).
    if (ts <= state.handledUpTo) return;
    const sender = event.getSender() ?? '';
    const who = classifySender(sender, settings);
    if (who.kind === 'self') return;
    const body = event.getContent().body;
    if (typeof body !== 'string' || !body.trim()) return;
    const text = body.slice(0, MAX_TEXT);
    const s = state;
    const roomId = room.roomId;
    enqueue(roomId, async () => {
      s.handledUpTo = Math.max(s.handledUpTo, ts);
      await save();
      deps.activity.touch();
      if (who.kind === 'owner') return fromOwner(roomId, text);
      if (who.kind === 'peer') return fromPeer(room, who.handle, text);
      log.info({ sender }, 'matrix: a stranger wrote; not answered by the AI');
      await send(roomId, MATRIX_TEXT.stranger);
    });
  }

  async function fromOwner(roomId: string, text: string): Promise<void> {
    if (!state) return;
    await client?.sendTyping(roomId, true, 30_000).catch(() => undefined);
    const answer = await deliver(deps, { text, conversationId: state.conversations[roomId] });
    await client?.sendTyping(roomId, false, 0).catch(() => undefined);
    state.conversations[roomId] = answer.conversationId;
    await save();
    await send(roomId, answer.text);
  }

  async function fromPeer(room: Room, peer: string, text: string): Promise<void> {
    // A room this AI opened is where its own messages get answered: what comes back is an answer.
    const opened =
      room.currentState.getStateEvents(EventType.RoomCreate, '')?.getSender() === settings?.userId;
    if (opened) {
      await record({ conversations: deps.social.conversations, inbox: inboxOf(), bus: deps.bus }, peer, {
        from: 'peer',
        text,
      });
      return;
    }
    const answer = await deps.social.sandbox.answer({ peer, text });
    if (answer.kind === 'replied') await send(room.roomId, answer.text);
  }

  const inboxOf = () => deps.inbox;

  return {
    name: 'matrix',
    peerId(handle) {
      const server = settings ? settings.userId.slice(settings.userId.indexOf(':') + 1) : 'localhost';
      return `@${handle}_ai:${server}`;
    },
    async start() {
      if (!settings || client) return;
      status = { name: 'matrix', state: 'starting', linked: true, detail: settings.userId };
      try {
        state = await store.read();
        const c = createClient({
          baseUrl: settings.homeserverUrl,
          accessToken: settings.accessToken,
          userId: settings.userId,
          ...(settings.deviceId ? { deviceId: settings.deviceId } : {}),
          logger: sdkLogger(log),
        });
        client = c;
        c.on(RoomEvent.MyMembership, (room, membership) => {
          if (membership === 'invite') onInvite(room);
        });
        c.on(RoomEvent.Timeline, onTimeline);
        c.on(ClientEvent.Sync, (sync, _prev, data) => {
          if (sync === SyncState.Prepared || sync === SyncState.Syncing) {
            if (status.state !== 'running') log.info({ userId: settings.userId }, 'matrix: syncing');
            status = { name: 'matrix', state: 'running', linked: true, detail: settings.userId };
          } else if (sync === SyncState.Error) {
            status = {
              name: 'matrix',
              state: 'error',
              linked: true,
              detail: String(data?.error?.message ?? 'sync failed'),
            };
          }
        });
        await c.startClient({ initialSyncLimit: 20, lazyLoadMembers: true });
      } catch (err) {
        status = { name: 'matrix', state: 'error', linked: true, detail: (err as Error).message };
        log.warn({ err }, 'matrix: could not start');
      }
    },
    async stop() {
      client?.stopClient();
      client = null;
      if (settings) status = { ...status, state: 'off' };
    },
    async reply(chatId, markdown) {
      await send(chatId, markdown);
    },
    status: () => status,
    async sendToPeer(handle, text) {
      if (!client || !state) throw new Error('the Matrix channel is not running');
      const peerId = this.peerId(handle);
      let roomId = state.peerRooms[handle];
      if (!roomId || client.getRoom(roomId)?.getMyMembership() !== 'join') {
        const made = await client.createRoom({
          is_direct: true,
          invite: [peerId],
          preset: Preset.TrustedPrivateChat,
          name: `${settings?.userId} and ${peerId}`,
        });
        roomId = made.room_id;
        state.peerRooms[handle] = roomId;
        await save();
      }
      const eventId = await send(roomId, text);
      await record({ conversations: deps.social.conversations, inbox: inboxOf(), bus: deps.bus }, handle, {
        from: 'me',
        text,
      });
      return { roomId, eventId };
    },
  };
}
