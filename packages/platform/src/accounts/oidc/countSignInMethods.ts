import { eq } from 'drizzle-orm';
import type { Db } from '../../db/openDb.ts';
import { oidcIdentities, passkeys, totpFactors } from '../../db/schema.ts';

/**
 * How many ways a user has to sign in: passkeys, an authenticator app, provider identities.
 * Removing any of them is refused when this is 1 (recovery codes are a fallback, not a method).
 * Call it inside the transaction that removes, so that two removals at once cannot both pass.
 */
export function countSignInMethods(db: Db, userId: string): number {
  const keys = db.select({ id: passkeys.id }).from(passkeys).where(eq(passkeys.userId, userId)).all();
  const totp = db
    .select({ id: totpFactors.userId })
    .from(totpFactors)
    .where(eq(totpFactors.userId, userId))
    .all();
  const ids = db
    .select({ id: oidcIdentities.id })
    .from(oidcIdentities)
    .where(eq(oidcIdentities.userId, userId))
    .all();
  return keys.length + totp.length + ids.length;
}
