import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import { postToInstance } from './postToInstance.ts';

/**
 * Puts a message from the platform in an instance's inbox (`POST /api/message` with its own
 * token), waking the instance first if it sleeps. Budget notices and billing notices both come
 * through here.
 */
export function postToInbox(
  lifecycle: Pick<Lifecycle, 'wake'>,
  message: { handle: string; token: string; from: string; text: string },
): Promise<Response> {
  return postToInstance(lifecycle, {
    handle: message.handle,
    token: message.token,
    path: '/api/message',
    body: { from: message.from, text: message.text },
  });
}
