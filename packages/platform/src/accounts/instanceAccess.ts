import { randomBytes } from 'node:crypto';
import type { Sealer } from '@matrixos/shared';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { bridgeTokens, instanceSessions, instances, sessionFamilies, users } from '../db/schema.ts';
import { authContext } from '../orchestrator/orchestrator.ts';
import { REFRESH_TTL_MS, sha256 } from './sessions.ts';

/** A bridge token is good for this long: enough for one redirect, useless once copied later. */
export const BRIDGE_TTL_MS = 30_000;
export const BRIDGE_PATH = '/.well-known/matrixos/bridge';

export interface InstanceViewer {
  userId: string;
  role: 'user' | 'admin';
  familyId: string;
}

/**
 * How a signed-in user crosses from the control plane to their instance's host, where the
 * control plane's cookies do not go: a one-use token, valid for seconds and bound to that exact
 * host, is swapped by the router for a session cookie on the instance's host. Only the owner (and
 * admins) get one. Knows each instance's own API token, which the router hands the gateway.
 */
export function createInstanceAccess(deps: { db: Db; sealer: Sealer; clock?: () => number }) {
  const { db, sealer } = deps;
  const clock = deps.clock ?? Date.now;
  const tokens = new Map<string, string>();

  return {
    /** A bridge token for `host` (exactly, with port), or null when the user may not open it. */
    issueBridge(viewer: InstanceViewer, handle: string, host: string): string | null {
      const owner = db.select().from(users).where(eq(users.handle, handle)).get();
      if (viewer.role !== 'admin' && owner?.id !== viewer.userId) return null;
      const now = clock();
      db.delete(bridgeTokens).where(lt(bridgeTokens.expiresAt, now)).run();
      const token = `mxb_${randomBytes(32).toString('base64url')}`;
      db.insert(bridgeTokens)
        .values({
          tokenHash: sha256(token),
          familyId: viewer.familyId,
          handle,
          host,
          expiresAt: now + BRIDGE_TTL_MS,
          usedAt: null,
        })
        .run();
      return token;
    },

    /**
     * Redeems a bridge token on the host it arrived at: the new instance session's cookie value,
     * or null when the token is unknown, used, expired, meant for another host, or its session
     * was revoked meanwhile. Used or not, a presented token is spent.
     */
    redeemBridge(
      token: string,
      host: string,
    ): { sessionId: string; handle: string; maxAgeMs: number } | null {
      const now = clock();
      const row = db
        .update(bridgeTokens)
        .set({ usedAt: now })
        .where(and(eq(bridgeTokens.tokenHash, sha256(token)), isNull(bridgeTokens.usedAt)))
        .returning()
        .get();
      if (!row || row.expiresAt <= now || row.host !== host) return null;
      const family = db.select().from(sessionFamilies).where(eq(sessionFamilies.id, row.familyId)).get();
      if (!family || family.revokedAt !== null || family.expiresAt <= now) return null;
      const sessionId = randomBytes(32).toString('base64url');
      const expiresAt = Math.min(family.expiresAt, now + REFRESH_TTL_MS);
      db.insert(instanceSessions)
        .values({ idHash: sha256(sessionId), familyId: family.id, handle: row.handle, expiresAt })
        .run();
      return { sessionId, handle: row.handle, maxAgeMs: expiresAt - now };
    },

    /** Who an instance-host session cookie speaks for, if it is valid for this handle. */
    viewer(sessionId: string, handle: string): InstanceViewer | null {
      const now = clock();
      const row = db
        .select({
          userId: users.id,
          role: users.role,
          userHandle: users.handle,
          familyId: sessionFamilies.id,
        })
        .from(instanceSessions)
        .innerJoin(sessionFamilies, eq(sessionFamilies.id, instanceSessions.familyId))
        .innerJoin(users, eq(users.id, sessionFamilies.userId))
        .where(
          and(
            eq(instanceSessions.idHash, sha256(sessionId)),
            eq(instanceSessions.handle, handle),
            gt(instanceSessions.expiresAt, now),
            isNull(sessionFamilies.revokedAt),
            gt(sessionFamilies.expiresAt, now),
          ),
        )
        .get();
      if (!row) return null;
      // Ownership is re-checked on every request: a demoted admin loses access at once.
      if (row.role !== 'admin' && row.userHandle !== handle) return null;
      return { userId: row.userId, role: row.role, familyId: row.familyId };
    },

    /** The instance's own API token (what the router gives the gateway), cached unsealed. */
    instanceToken(handle: string): string | null {
      const cached = tokens.get(handle);
      if (cached) return cached;
      const row = db
        .select({ sealed: instances.authTokenSealed })
        .from(instances)
        .where(eq(instances.handle, handle))
        .get();
      if (!row) return null;
      const token = sealer.open(row.sealed, authContext(handle));
      tokens.set(handle, token);
      return token;
    },

    /** Forgets a cached token (the instance was destroyed, or its token changed). */
    forget(handle: string): void {
      tokens.delete(handle);
    },
  };
}

export type InstanceAccess = ReturnType<typeof createInstanceAccess>;
