import type { GatewayEvent } from './contract.ts';

export type { ChatEvent, GatewayEvent } from './contract.ts';

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
