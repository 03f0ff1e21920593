import { z } from 'zod';

const secret = (min: number) =>
  z
    .string()
    .min(min)
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** `PUT /keys/{handle}`: the instance's proxy token (only its SHA-256 is stored). */
export const registerKeyBody = z.strictObject({ token: secret(32) });
export const registeredKey = z.object({ handle: z.string(), registered: z.literal(true) });
export const revokedKey = z.object({ handle: z.string(), revoked: z.boolean() });

/** `PUT /keys/self/anthropic`: the user's own Anthropic key. */
export const ownKeyBody = z.strictObject({ apiKey: secret(20) });
/** Whether the user's own key is set; `hint` is `…abcd`, never the key. */
export const ownKeyInfo = z.object({ configured: z.boolean(), hint: z.string().nullable() });
export type OwnKeyInfo = z.infer<typeof ownKeyInfo>;
