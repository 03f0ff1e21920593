import { handle as handleSchema, SOCIAL_LIMITS } from '@matrixos/platform/social';
import { z } from 'zod';

/** What the owner's AI gives to write to another user's AI, over the platform or over Matrix. */
export function peerMessageInput(handleHint: string) {
  return z.strictObject({
    handle: handleSchema.describe(handleHint),
    text: z.string().trim().min(1).max(SOCIAL_LIMITS.textChars).describe('The message, written to their AI'),
  });
}
