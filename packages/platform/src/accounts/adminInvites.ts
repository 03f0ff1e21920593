import { createHash } from 'node:crypto';
import { newToken } from '@matrixos/shared';
import { and, desc, eq, gt, isNull, lt } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { adminInvites } from '../db/schema.ts';

/** How long an invite link works unless the operator says otherwise. */
export const ADMIN_INVITE_TTL_MS = 24 * 60 * 60 * 1000;
/** The query parameter of the sign-up page that carries an invite. */
export const INVITE_PARAM = 'invite';

/** Tokens are 256 random bits: a plain SHA-256 is enough to keep them useless to a database reader. */
export function inviteHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * One-time sign-up links that make their user an admin: how the first admin of a new server is
 * made (scripts/deploy-platform.sh prints one), without an admin token in a browser. Single use,
 * expiring, only their hash at rest; redeemed in the same transaction that creates the account.
 */
export function createAdminInvites(deps: { db: Db; clock?: () => number }) {
  const { db } = deps;
  const clock = deps.clock ?? Date.now;
  return {
    /** A new invite; the token is returned in clear this once. */
    issue(ttlMs: number = ADMIN_INVITE_TTL_MS): { token: string; expiresAt: number } {
      const now = clock();
      db.delete(adminInvites).where(lt(adminInvites.expiresAt, now)).run();
      const token = newToken('mxv');
      const expiresAt = now + ttlMs;
      db.insert(adminInvites)
        .values({ tokenHash: inviteHash(token), createdAt: now, expiresAt })
        .run();
      return { token, expiresAt };
    },
    /** The invite's hash when it can still be used (known, unused, unexpired); null otherwise. */
    usable(token: string): string | null {
      const hash = inviteHash(token);
      const row = db
        .select()
        .from(adminInvites)
        .where(
          and(
            eq(adminInvites.tokenHash, hash),
            isNull(adminInvites.usedAt),
            gt(adminInvites.expiresAt, clock()),
          ),
        )
        .get();
      return row ? hash : null;
    },
    /** When the latest invite still usable expires; null when none is. */
    outstanding(): number | null {
      const row = db
        .select({ expiresAt: adminInvites.expiresAt })
        .from(adminInvites)
        .where(and(isNull(adminInvites.usedAt), gt(adminInvites.expiresAt, clock())))
        .orderBy(desc(adminInvites.expiresAt))
        .get();
      return row?.expiresAt ?? null;
    },
    /** Marks it used by this user; false when it was used or expired meanwhile (one wins a race). */
    redeem(hash: string, userId: string): boolean {
      const now = clock();
      return (
        db
          .update(adminInvites)
          .set({ usedAt: now, usedBy: userId })
          .where(
            and(
              eq(adminInvites.tokenHash, hash),
              isNull(adminInvites.usedAt),
              gt(adminInvites.expiresAt, now),
            ),
          )
          .run().changes === 1
      );
    },
  };
}

export type AdminInvites = ReturnType<typeof createAdminInvites>;

/** An invite that was used or expired between the start of a sign-up and its end. */
export class InviteSpentError extends Error {
  constructor() {
    super('this admin invite has been used or has expired');
  }
}
