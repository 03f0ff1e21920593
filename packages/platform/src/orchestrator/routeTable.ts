import type { Logger } from '@matrixos/shared';
import type { Endpoint } from '../runtime/driver.ts';
import type { RouteEntry } from './orchestrator.ts';

/** Who else must know where running instances answer: the native edge (`src/edge/`). */
export interface RoutePublisher {
  publish(handle: string, endpoint: Endpoint): Promise<void>;
  withdraw(handle: string): Promise<void>;
}

/**
 * The orchestrator's routes, and with a publisher every change of a running address told to it, in
 * order per handle: published when an instance runs, withdrawn the moment it stops being running.
 * A stop or freeze waits for the withdrawal (`settled`) before asking the engine, so the edge never
 * sends a request to a container that is frozen or going away.
 */
export function createRouteTable(publisher: RoutePublisher | undefined, log: Logger) {
  const routes = new Map<string, RouteEntry>();
  const told = new Map<string, Promise<void>>();

  function tell(handle: string, what: 'publish' | 'withdraw', op: () => Promise<void>): void {
    const next = (told.get(handle) ?? Promise.resolve())
      .then(op)
      .catch((err) => log.error({ err, handle }, `could not ${what} the route at the edge`));
    told.set(handle, next);
    void next.then(() => {
      if (told.get(handle) === next) told.delete(handle);
    });
  }

  function changed(handle: string, before: RouteEntry | undefined, after: RouteEntry | undefined): void {
    if (!publisher) return;
    const was = before?.state === 'running' ? before.endpoint : null;
    const now = after?.state === 'running' ? after.endpoint : null;
    if (now && (was?.host !== now.host || was.port !== now.port))
      tell(handle, 'publish', () => publisher.publish(handle, now));
    else if (!now && was) tell(handle, 'withdraw', () => publisher.withdraw(handle));
  }

  return {
    get: (handle: string): RouteEntry | undefined => routes.get(handle),
    set(handle: string, entry: RouteEntry): void {
      const before = routes.get(handle);
      routes.set(handle, entry);
      changed(handle, before, entry);
    },
    delete(handle: string): void {
      const before = routes.get(handle);
      routes.delete(handle);
      changed(handle, before, undefined);
    },
    /** Once the publisher has been told everything about `handle` so far. */
    settled: (handle: string): Promise<void> => told.get(handle) ?? Promise.resolve(),
    /** Where each running instance answers (the edge's full set, at start and on resync). */
    running(): Map<string, Endpoint> {
      const out = new Map<string, Endpoint>();
      for (const [handle, r] of routes) if (r.state === 'running' && r.endpoint) out.set(handle, r.endpoint);
      return out;
    },
  };
}
