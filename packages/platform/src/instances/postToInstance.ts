import type { Lifecycle } from '../lifecycle/lifecycle.ts';

/**
 * POSTs JSON to an instance's gateway with its own token, waking the instance first if it
 * sleeps. The one wake-and-POST of the platform: inbox notices and social deliveries use it.
 */
export async function postToInstance(
  lifecycle: Pick<Lifecycle, 'wake'>,
  request: { handle: string; token: string; path: string; body: unknown },
): Promise<Response> {
  const endpoint = await lifecycle.wake(request.handle);
  return fetch(`http://${endpoint.host}:${endpoint.port}${request.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${request.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(request.body),
    signal: AbortSignal.timeout(10_000),
  });
}
