import type { AppInfo } from '../apps/store.ts';
import type { InboxMessage } from '../inbox/store.ts';
import type { ChatFailure } from '../kernel/errors.ts';
import type { StopReason } from '../kernel/loop.ts';

/** Every event of one turn of a chat names its conversation and the turn. */
interface TurnEvent {
  conversationId: string;
  turnId: string;
}

/** What the kernel tells the shells while it answers (see docs/shell.md for the protocol). */
export type ChatEvent =
  | (TurnEvent & {
      type: 'chat.started';
      /** Echoed from the `chat.send` that began the turn, so its sender can tell it is theirs. */
      requestId: string | null;
      title: string;
      text: string;
    })
  | (TurnEvent & { type: 'chat.delta'; text: string })
  | (TurnEvent & {
      type: 'chat.tool';
      id: string;
      name: string;
      status: 'preparing' | 'running';
      summary: string;
    })
  | (TurnEvent & {
      type: 'chat.tool_result';
      id: string;
      name: string;
      ok: boolean;
      summary: string;
      app?: AppInfo;
    })
  | (TurnEvent & { type: 'chat.error' } & ChatFailure)
  | (TurnEvent & {
      type: 'chat.done';
      stopReason: StopReason;
      usage: { inputTokens: number; outputTokens: number };
    });

/** What the instance tells its open WebSockets about. */
export type GatewayEvent =
  | { type: 'inbox.message'; message: InboxMessage }
  | { type: 'files.changed'; path: string; action: 'created' | 'updated' | 'deleted' }
  | ChatEvent;

export interface EventBus {
  publish(event: GatewayEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (event: GatewayEvent) => void): () => void;
}

/** In-process fan-out from the routes that change things to the sockets that watch them. */
export function createEventBus(): EventBus {
  const listeners = new Set<(event: GatewayEvent) => void>();
  return {
    publish(event) {
      for (const listener of listeners) listener(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
