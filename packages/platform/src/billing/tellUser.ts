import type { InstanceAccess } from '../accounts/instanceAccess.ts';
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
      const endpoint = await deps.lifecycle.wake(handle);
      const res = await fetch(`http://${endpoint.host}:${endpoint.port}/api/message`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from: 'Matrix OS billing', text }),
        signal: AbortSignal.timeout(10_000),
      });
      return res.ok;
    } catch {
      return false;
    }
  };
}

export type TellUser = ReturnType<typeof createTellUser>;
