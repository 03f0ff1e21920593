import { listenForInstances } from '../instanceApi/listen.ts';

/**
 * Serves the Matrix relay to instances on the address they reach the host at (like the instance
 * API), so that a container reaches the homeserver and nothing else of the host. No request
 * timeout: a sync long-polls for 30 s.
 */
export function listenRelay(
  app: { fetch: (req: Request) => Response | Promise<Response> },
  at: { host: string; name: string },
  port: number,
) {
  return listenForInstances(app, at, port, {
    requestTimeoutMs: 0,
    headersTimeoutMs: 10_000,
    maxHeaders: 100,
  });
}
