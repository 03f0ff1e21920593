import type { Endpoint } from '../runtime/driver.ts';

/**
 * Where the native edge sends `{handle}.{domain}` straight to a running instance. Without a route
 * the edge hands the request to the platform's router (which wakes the instance), so a route that
 * is missing only costs a hop; one left behind is worse, since a paused container accepts and never
 * answers: `withdraw` before an instance is paused or stopped.
 */
export interface EdgeRoutes {
  /** Logs a failure rather than rejecting: the request goes through the platform meanwhile. */
  publish(handle: string, endpoint: Endpoint): Promise<void>;
  /** Tries again a couple of times, then logs an error and resolves. */
  withdraw(handle: string): Promise<void>;
  /**
   * The whole set, at start and on resync: a handle in both the old and the new set keeps its
   * route throughout. Rejects on failure.
   */
  replaceAll(routes: ReadonlyMap<string, Endpoint>): Promise<void>;
}
