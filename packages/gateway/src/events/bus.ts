import type { InboxMessage } from '../inbox/store.ts';

/** What the instance tells its open WebSockets about. */
export type GatewayEvent =
  | { type: 'inbox.message'; message: InboxMessage }
  | { type: 'files.changed'; path: string; action: 'created' | 'updated' | 'deleted' };

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
