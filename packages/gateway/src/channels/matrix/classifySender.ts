import { validateHandle } from '@matrixos/shared';

/** Who a Matrix message is from, as far as this instance's AI is concerned. */
export type Sender =
  | { kind: 'self' }
  | { kind: 'owner' }
  | { kind: 'peer'; handle: string }
  | { kind: 'stranger' };

/**
 * The owner is exactly `@{handle}:server`; another user's AI is `@{x}_ai` on the same server, x a
 * valid handle (the homeserver authenticated the sender; the platform made every `_ai` account).
 * Anyone else is a stranger, and gets nothing of the AI.
 */
export function classifySender(sender: string, me: { userId: string; ownerId: string }): Sender {
  if (sender === me.userId) return { kind: 'self' };
  if (sender === me.ownerId) return { kind: 'owner' };
  const server = me.userId.slice(me.userId.indexOf(':') + 1);
  const m = /^@([a-z0-9-]+)_ai:(.+)$/.exec(sender);
  if (m && m[2] === server && validateHandle(m[1]).ok) return { kind: 'peer', handle: m[1] as string };
  return { kind: 'stranger' };
}
