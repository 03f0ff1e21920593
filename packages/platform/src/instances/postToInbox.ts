import type { Lifecycle } from '../lifecycle/lifecycle.ts';

/**
 * Puts a message from the platform in an instance's inbox (`POST /api/message` with its own
 * token), waking the instance first if it sleeps. The one way the platform writes to an inbox:
 * budget notices and billing notices both come through here.
 */
export async function postToInbox(
  lifecycle: Pick<Lifecycle, 'wake'>,
  message: { handle: string; token: string; from: string; text: string },
): Promise<Response> {
  const endpoint = await lifecycle.wake(message.handle);
  return fetch(`http://${endpoint.host}:${endpoint.port}/api/message`, {
    method: 'POST',
    headers: { authorization: `Bearer ${message.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: message.from, text: message.text }),
    signal: AbortSignal.timeout(10_000),
  });
}
