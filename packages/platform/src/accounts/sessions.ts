import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { and, eq, isNull } from 'drizzle-orm';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Db } from '../db/openDb.ts';
import { bridgeTokens, instanceSessions, refreshTokens, sessionFamilies, users } from '../db/schema.ts';

export const ACCESS_TTL_MS = 60 * 60 * 1000;
export const REFRESH_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * A refresh token presented again this soon after it was rotated gets the same successor back
 * instead of revoking the family: a page's parallel requests racing to refresh are not a theft.
 */
const REUSE_GRACE_MS = 20_000;
const AUDIENCE = 'matrixos-control-plane';

export interface SessionUser {
  userId: string;
  handle: string;
  role: 'user' | 'admin';
  familyId: string;
}

export interface IssuedTokens {
  access: string;
  refresh: string;
  familyId: string;
}

/**
 * What ends access that was granted earlier, for whoever holds it open (the router's WebSockets):
 * `revoked` when a family is revoked (sign-out, sign-out everywhere, reuse detection); `changed`
 * when what a user may reach changed (a role), so open access must be checked again.
 */
export type SessionEvents = EventEmitter<{
  revoked: [{ familyId: string; userId: string; reason: string }];
  changed: [{ userId: string; reason: string }];
}>;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * Sessions of the control plane: a short-lived access JWT and a refresh token, both belonging to
 * a family (one signed-in browser). Rotation issues a new pair; a refresh token used twice means
 * it was copied, and the whole family is revoked. Revocation is checked on every request.
 */
export function createSessions(deps: { db: Db; jwtKey: Uint8Array; issuer: string; clock?: () => number }) {
  const { db, jwtKey, issuer } = deps;
  const clock = deps.clock ?? Date.now;
  const recentlyRotated = new Map<string, { tokens: IssuedTokens; at: number }>();
  const events: SessionEvents = new EventEmitter();
  events.setMaxListeners(0);

  async function signAccess(
    user: { id: string; handle: string; role: 'user' | 'admin' },
    familyId: string,
  ): Promise<string> {
    const now = clock();
    return new SignJWT({ handle: user.handle, sid: familyId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor((now + ACCESS_TTL_MS) / 1000))
      .setJti(randomUUID())
      .sign(jwtKey);
  }

  function newRefresh(familyId: string): string {
    const token = `mxr_${randomBytes(32).toString('base64url')}`;
    db.insert(refreshTokens)
      .values({ tokenHash: sha256(token), familyId, expiresAt: clock() + REFRESH_TTL_MS, usedAt: null })
      .run();
    return token;
  }

  function familyActive(familyId: string): boolean {
    const f = db.select().from(sessionFamilies).where(eq(sessionFamilies.id, familyId)).get();
    return !!f && f.revokedAt === null && f.expiresAt > clock();
  }

  function revokeFamily(familyId: string, reason: string): void {
    db.update(sessionFamilies)
      .set({ revokedAt: clock(), revokedReason: reason })
      .where(and(eq(sessionFamilies.id, familyId), isNull(sessionFamilies.revokedAt)))
      .run();
    // What the family had minted elsewhere goes with it.
    db.delete(instanceSessions).where(eq(instanceSessions.familyId, familyId)).run();
    db.delete(bridgeTokens).where(eq(bridgeTokens.familyId, familyId)).run();
    for (const [hash, r] of recentlyRotated) if (r.tokens.familyId === familyId) recentlyRotated.delete(hash);
    const family = db.select().from(sessionFamilies).where(eq(sessionFamilies.id, familyId)).get();
    if (family) events.emit('revoked', { familyId, userId: family.userId, reason });
  }

  return {
    async issue(userId: string, userAgent: string | undefined): Promise<IssuedTokens> {
      const user = db.select().from(users).where(eq(users.id, userId)).get();
      if (!user) throw new Error('no such user');
      const familyId = randomUUID();
      const now = clock();
      db.insert(sessionFamilies)
        .values({
          id: familyId,
          userId,
          createdAt: now,
          expiresAt: now + REFRESH_TTL_MS,
          revokedAt: null,
          revokedReason: null,
          userAgent: userAgent?.slice(0, 200) ?? null,
        })
        .run();
      return { access: await signAccess(user, familyId), refresh: newRefresh(familyId), familyId };
    },

    /** The user an access token speaks for, or null: bad signature, wrong algorithm, expired, or revoked. */
    async verifyAccess(token: string): Promise<SessionUser | null> {
      try {
        const { payload } = await jwtVerify(token, jwtKey, {
          issuer,
          audience: AUDIENCE,
          algorithms: ['HS256'],
          currentDate: new Date(clock()),
        });
        const familyId = payload.sid;
        if (typeof familyId !== 'string' || typeof payload.sub !== 'string' || !familyActive(familyId))
          return null;
        // The role is read now, not from the token: a demoted admin is a user from this request on.
        const user = db.select().from(users).where(eq(users.id, payload.sub)).get();
        if (!user) return null;
        return { userId: user.id, handle: user.handle, role: user.role, familyId };
      } catch (err) {
        if (err instanceof joseErrors.JOSEError) return null;
        throw err;
      }
    },

    /**
     * Trades a refresh token for a new pair. `reuse` means the token had already been traded
     * (outside the grace window): the family is now revoked.
     */
    async rotate(
      token: string,
    ): Promise<{ tokens: IssuedTokens } | { refused: 'unknown' | 'expired' | 'revoked' | 'reuse' }> {
      const hash = sha256(token);
      const recent = recentlyRotated.get(hash);
      if (recent && clock() - recent.at < REUSE_GRACE_MS && familyActive(recent.tokens.familyId))
        return { tokens: recent.tokens };
      const row = db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).get();
      if (!row) return { refused: 'unknown' };
      if (row.usedAt !== null) {
        revokeFamily(row.familyId, 'refresh token reused');
        return { refused: 'reuse' };
      }
      if (row.expiresAt <= clock()) return { refused: 'expired' };
      const family = db.select().from(sessionFamilies).where(eq(sessionFamilies.id, row.familyId)).get();
      if (!family || family.revokedAt !== null || family.expiresAt <= clock()) return { refused: 'revoked' };
      const user = db.select().from(users).where(eq(users.id, family.userId)).get();
      if (!user) return { refused: 'revoked' };
      db.update(refreshTokens).set({ usedAt: clock() }).where(eq(refreshTokens.tokenHash, hash)).run();
      const tokens = {
        access: await signAccess(user, family.id),
        refresh: newRefresh(family.id),
        familyId: family.id,
      };
      recentlyRotated.set(hash, { tokens, at: clock() });
      for (const [h, r] of recentlyRotated) if (clock() - r.at >= REUSE_GRACE_MS) recentlyRotated.delete(h);
      return { tokens };
    },

    revokeFamily,

    /** Signs a user out everywhere: every family, every instance session. */
    revokeAllOf(userId: string, reason: string): void {
      for (const f of db
        .select({ id: sessionFamilies.id })
        .from(sessionFamilies)
        .where(eq(sessionFamilies.userId, userId))
        .all()) {
        revokeFamily(f.id, reason);
      }
    },

    familyActive,

    events,
  };
}

export type Sessions = ReturnType<typeof createSessions>;
