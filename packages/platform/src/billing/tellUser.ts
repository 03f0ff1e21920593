import type { InstanceAccess } from '../accounts/instanceAccess.ts';
import { postToInbox } from '../instances/postToInbox.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';

/**
 * Puts a message from the platform in the user's instance inbox (waking it), as budget notices
 * do. False when the user has no instance or it did not take the message.
 */
export function createTellUser(deps: {
  lifecycle: Pick<Lifecycle, 'wake'>;
  access: Pick<InstanceAccess, 'instanceToken'>;
}) {
  return async function tellUser(handle: string, text: string): Promise<boolean> {
    const token = deps.access.instanceToken(handle);
    if (!token) return false;
    try {
      const res = await postToInbox(deps.lifecycle, { handle, token, from: 'Matrix OS billing', text });
      return res.ok;
    } catch {
      return false;
    }
  };
}

export type TellUser = ReturnType<typeof createTellUser>;
