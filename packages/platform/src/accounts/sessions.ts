import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Sealer } from '@matrixos/shared';
import { and, eq, isNull } from 'drizzle-orm';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Db } from '../db/openDb.ts';
import { bridgeTokens, refreshTokens, sessionFamilies, users } from '../db/schema.ts';

export const ACCESS_TTL_MS = 60 * 60 * 1000;
export const REFRESH_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * A refresh token presented again this soon after it was rotated gets the same successor back
 * instead of revoking the family: a page's parallel requests racing to refresh are not a theft.
 */
const REUSE_GRACE_MS = 20_000;
/**
 * How long a proof of a factor (signing in, or a step-up on the dashboard) counts as fresh for
 * changing the factors themselves: re-enrolling, removing, or new recovery codes.
 */
export const STEP_UP_TTL_MS = 5 * 60 * 1000;
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
export function createSessions(deps: {
  db: Db;
  jwtKey: Uint8Array;
  issuer: string;
  /** Seals each rotated token's successor in its row, for the parallel requests of the grace window. */
  sealer: Sealer;
  clock?: () => number;
}) {
  const { db, jwtKey, issuer, sealer } = deps;
  const clock = deps.clock ?? Date.now;
  const successorAad = (hash: string) => `refresh-successor:${hash}`;
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
    // What the family had minted elsewhere goes with it. Its instance sessions stay until their
    // passes expire (none is valid any more): the instances holding them are told by their ids.
    db.delete(bridgeTokens).where(eq(bridgeTokens.familyId, familyId)).run();
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
          // Signing in is a proof of a factor: the new session may change factors for a few minutes.
          verifiedAt: now,
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
     *
     * One transaction (BEGIN IMMEDIATE) marks the token used and records its successor, sealed,
     * in the same row: a parallel request with the same token, in the grace window, reads that
     * successor back and gets the same refresh token. No moment exists in which the token is
     * marked used but its successor unknown (which revoked families when two tabs raced).
     */
    async rotate(
      token: string,
    ): Promise<{ tokens: IssuedTokens } | { refused: 'unknown' | 'expired' | 'revoked' | 'reuse' }> {
      const hash = sha256(token);
      const now = clock();
      const outcome = db.transaction(
        ():
          | { refused: 'unknown' | 'expired' | 'revoked' }
          | { reused: string }
          | { user: typeof users.$inferSelect; familyId: string; refresh: string } => {
          const row = db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).get();
          if (!row) return { refused: 'unknown' };
          const family = db.select().from(sessionFamilies).where(eq(sessionFamilies.id, row.familyId)).get();
          if (!family || family.revokedAt !== null || family.expiresAt <= now) return { refused: 'revoked' };
          const user = db.select().from(users).where(eq(users.id, family.userId)).get();
          if (!user) return { refused: 'revoked' };
          if (row.usedAt !== null) {
            if (now - row.usedAt < REUSE_GRACE_MS && row.successorSealed !== null)
              return {
                user,
                familyId: family.id,
                refresh: sealer.open(row.successorSealed, successorAad(hash)),
              };
            return { reused: family.id };
          }
          if (row.expiresAt <= now) return { refused: 'expired' };
          const refresh = newRefresh(family.id);
          db.update(refreshTokens)
            .set({ usedAt: now, successorSealed: sealer.seal(refresh, successorAad(hash)) })
            .where(eq(refreshTokens.tokenHash, hash))
            .run();
          return { user, familyId: family.id, refresh };
        },
        { behavior: 'immediate' },
      );
      if ('refused' in outcome) return outcome;
      if ('reused' in outcome) {
        revokeFamily(outcome.reused, 'refresh token reused');
        return { refused: 'reuse' };
      }
      const { user, familyId, refresh } = outcome;
      return { tokens: { access: await signAccess(user, familyId), refresh, familyId } };
    },

    /** Records a fresh proof of a factor in this session (a step-up on the dashboard). */
    proveFactor(familyId: string): number {
      const now = clock();
      db.update(sessionFamilies).set({ verifiedAt: now }).where(eq(sessionFamilies.id, familyId)).run();
      return now + STEP_UP_TTL_MS;
    },

    /**
     * Until when this session may change factors (ms), or null when its last proof of a factor is
     * older than STEP_UP_TTL_MS. Bound to the family: another browser's proof does not count.
     */
    freshUntil(familyId: string): number | null {
      const f = db
        .select({ verifiedAt: sessionFamilies.verifiedAt })
        .from(sessionFamilies)
        .where(eq(sessionFamilies.id, familyId))
        .get();
      if (!f || f.verifiedAt === null) return null;
      const until = f.verifiedAt + STEP_UP_TTL_MS;
      return until > clock() ? until : null;
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
