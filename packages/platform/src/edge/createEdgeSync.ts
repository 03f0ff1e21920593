import type { Logger } from '@matrixos/shared';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { Endpoint } from '../runtime/driver.ts';
import type { EdgeRoutes } from './edgeRoutes.ts';

const RESYNC_EVERY_MS = 60_000;
const MISSED_AGAIN_MS = 5_000;

/**
 * Keeps the edge's routes whole beyond the per-change pushes (the orchestrator's route table):
 * the full set once the startup reconcile is done and every minute (an edge that restarted has
 * none), and a route again when the router sees a request the edge should have routed itself.
 * Either can race a withdrawal; each therefore looks again once it landed and withdraws what is
 * no longer running, so a frozen or stopped instance keeps no route for longer than that.
 */
export function createEdgeSync(deps: {
  edge: EdgeRoutes;
  orchestrator: Pick<Orchestrator, 'route' | 'runningRoutes'>;
  log: Logger;
  everyMs?: number;
}) {
  const { edge, orchestrator, log } = deps;
  const lastMissed = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const stillRunning = (handle: string, at: Endpoint) => {
    const r = orchestrator.route(handle);
    return r?.state === 'running' && r.endpoint?.host === at.host && r.endpoint.port === at.port;
  };

  async function resync(): Promise<void> {
    const routes = orchestrator.runningRoutes();
    try {
      await edge.replaceAll(routes);
    } catch (err) {
      log.error({ err }, 'could not give the edge its routes');
      return;
    }
    for (const [handle, at] of routes) if (!stillRunning(handle, at)) await edge.withdraw(handle);
  }

  return {
    start(): Promise<void> {
      timer = setInterval(() => void resync(), deps.everyMs ?? RESYNC_EVERY_MS);
      timer.unref();
      return resync();
    },
    stop(): void {
      clearInterval(timer);
    },
    /** The router forwarded a request for a running instance: the edge has lost its route. */
    missed(handle: string, at: Endpoint): void {
      const now = Date.now();
      if (now - (lastMissed.get(handle) ?? 0) < MISSED_AGAIN_MS) return;
      lastMissed.set(handle, now);
      void edge
        .publish(handle, at)
        .then(() => (stillRunning(handle, at) ? undefined : edge.withdraw(handle)))
        .catch((err) => log.error({ err, handle }, 'could not give the edge a route again'));
    },
  };
}
