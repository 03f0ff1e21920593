import { randomBytes } from 'node:crypto';
import { INSTANCE_PASS_TTL_S, type Sealer } from '@matrixos/shared';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { bridgeTokens, instanceSessions, instances, sessionFamilies, users } from '../db/schema.ts';
import { authContext } from '../orchestrator/orchestrator.ts';
import { sha256 } from './sessions.ts';

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
 * host, is swapped by the router for an instance pass there (a short-lived signed cookie the
 * instance verifies itself). Only the owner (and admins) get one. Knows each instance's own API
 * token, which its passes' key derives from.
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
     * Redeems a bridge token on the host it arrived at: a new instance session, as long-lived as
     * the pass that carries it, or null when the token is unknown, used, expired, meant for another
     * host, or its session was revoked meanwhile. Used or not, a presented token is spent.
     */
    redeemBridge(token: string, host: string): (InstanceViewer & { sid: string; handle: string }) | null {
      const now = clock();
      const row = db
        .update(bridgeTokens)
        .set({ usedAt: now })
        .where(and(eq(bridgeTokens.tokenHash, sha256(token)), isNull(bridgeTokens.usedAt)))
        .returning()
        .get();
      if (!row || row.expiresAt <= now || row.host !== host) return null;
      const family = db
        .select({
          id: sessionFamilies.id,
          revokedAt: sessionFamilies.revokedAt,
          expiresAt: sessionFamilies.expiresAt,
          userId: users.id,
          role: users.role,
        })
        .from(sessionFamilies)
        .innerJoin(users, eq(users.id, sessionFamilies.userId))
        .where(eq(sessionFamilies.id, row.familyId))
        .get();
      if (!family || family.revokedAt !== null || family.expiresAt <= now) return null;
      // Public (a pass carries it, the instance sees it): it names the session, it opens nothing.
      const sid = randomBytes(24).toString('base64url');
      const expiresAt = Math.min(family.expiresAt, now + INSTANCE_PASS_TTL_S * 1000);
      db.delete(instanceSessions).where(lt(instanceSessions.expiresAt, now)).run();
      db.insert(instanceSessions)
        .values({ idHash: sid, familyId: family.id, handle: row.handle, expiresAt })
        .run();
      return { sid, handle: row.handle, userId: family.userId, role: family.role, familyId: family.id };
    },

    /** Who an instance pass's session speaks for, if it is still valid for this handle. */
    viewer(sid: string, handle: string): InstanceViewer | null {
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
            eq(instanceSessions.idHash, sid),
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

    /**
     * Instance sessions whose passes may still be presented (not expired), of one family, one
     * user, or one instance: what a revocation must be pushed to.
     */
    liveSessions(
      of: { familyId: string } | { userId: string } | { handle: string },
    ): { sid: string; handle: string }[] {
      const where =
        'familyId' in of
          ? eq(instanceSessions.familyId, of.familyId)
          : 'userId' in of
            ? eq(sessionFamilies.userId, of.userId)
            : eq(instanceSessions.handle, of.handle);
      return db
        .select({ sid: instanceSessions.idHash, handle: instanceSessions.handle })
        .from(instanceSessions)
        .innerJoin(sessionFamilies, eq(sessionFamilies.id, instanceSessions.familyId))
        .where(and(where, gt(instanceSessions.expiresAt, clock())))
        .all();
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
