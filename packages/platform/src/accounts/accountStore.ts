import { randomBytes, randomUUID } from 'node:crypto';
import type { Sealer } from '@matrixos/shared';
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import {
  authFlows,
  type PasskeyRow,
  passkeys,
  recoveryCodes,
  totpFactors,
  type UserRow,
  users,
} from '../db/schema.ts';
import { createAdminInvites, InviteSpentError } from './adminInvites.ts';
import { countSignInMethods } from './oidc/countSignInMethods.ts';
import type { VerifiedIdentity } from './oidc/identityStore.ts';
import { insertIdentity } from './oidc/insertIdentity.ts';
import { newRecoveryCodes, recoveryCodeHash } from './recoveryCodes.ts';

export type FlowKind = (typeof authFlows.$inferSelect)['kind'];
export type Flow = typeof authFlows.$inferSelect;

/** Sign-up, sign-in and factor setup flows live this long. */
export const FLOW_TTL_MS = 5 * 60 * 1000;

export interface NewPasskey {
  id: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  name: string;
}

/** Users, their factors, recovery codes and in-progress flows: every account write goes through here. */
export function createAccountStore(deps: { db: Db; sealer: Sealer; clock?: () => number }) {
  const { db, sealer } = deps;
  const clock = deps.clock ?? Date.now;
  const invites = createAdminInvites({ db, clock });

  function recoveryCodesFor(userId: string): string[] {
    const codes = newRecoveryCodes();
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run();
    for (const code of codes)
      db.insert(recoveryCodes)
        .values({ codeHash: recoveryCodeHash(code), userId, usedAt: null })
        .run();
    return codes;
  }

  function addPasskey(userId: string, p: NewPasskey): void {
    db.insert(passkeys)
      .values({ ...p, publicKey: Buffer.from(p.publicKey), userId, createdAt: clock(), lastUsedAt: null })
      .run();
  }

  function setTotp(userId: string, secret: string, counter: number): void {
    db.delete(totpFactors).where(eq(totpFactors.userId, userId)).run();
    db.insert(totpFactors)
      .values({
        userId,
        secretSealed: sealer.seal(secret, `totp:${userId}`),
        lastCounter: counter,
        createdAt: clock(),
      })
      .run();
  }

  return {
    userByHandle: (handle: string): UserRow | undefined =>
      db.select().from(users).where(eq(users.handle, handle)).get(),
    userById: (id: string): UserRow | undefined => db.select().from(users).where(eq(users.id, id)).get(),
    listUsers: (): UserRow[] => db.select().from(users).orderBy(users.handle).all(),
    /** Makes an account an admin or a user again; false when there is no such account. */
    setRole(handle: string, role: UserRow['role']): boolean {
      return db.update(users).set({ role }).where(eq(users.handle, handle)).run().changes === 1;
    },

    /**
     * Creates the user with their first factor and recovery codes, all or nothing. Returns the
     * codes in clear, once. Every account starts as a user (admins are made with `setRole`),
     * except one created with an admin invite: the invite is redeemed in the same transaction,
     * and when it is spent meanwhile nothing is created (InviteSpentError).
     */
    createUser(
      handle: string,
      factor:
        | { passkey: NewPasskey }
        | { totpSecret: string; counter: number }
        | { identity: VerifiedIdentity },
      id: string = randomUUID(),
      inviteHash: string | null = null,
    ): { user: UserRow; recoveryCodes: string[] } {
      return db.transaction(() => {
        const user: UserRow = {
          id,
          handle,
          role: inviteHash ? 'admin' : 'user',
          createdAt: clock(),
        };
        db.insert(users).values(user).run();
        if (inviteHash && !invites.redeem(inviteHash, user.id)) throw new InviteSpentError();
        if ('passkey' in factor) addPasskey(user.id, factor.passkey);
        else if ('identity' in factor) insertIdentity(db, user.id, factor.identity, clock());
        else setTotp(user.id, factor.totpSecret, factor.counter);
        return { user, recoveryCodes: recoveryCodesFor(user.id) };
      });
    },

    passkeysOf: (userId: string): PasskeyRow[] =>
      db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(passkeys.createdAt).all(),
    passkey: (id: string): PasskeyRow | undefined =>
      db.select().from(passkeys).where(eq(passkeys.id, id)).get(),
    addPasskey,
    passkeyUsed(id: string, counter: number): void {
      db.update(passkeys).set({ counter, lastUsedAt: clock() }).where(eq(passkeys.id, id)).run();
    },

    totpOf(userId: string): { secret: string; lastCounter: number } | null {
      const row = db.select().from(totpFactors).where(eq(totpFactors.userId, userId)).get();
      return row
        ? { secret: sealer.open(row.secretSealed, `totp:${userId}`), lastCounter: row.lastCounter }
        : null;
    },
    setTotp,
    /** Records an accepted code's step, only if it is newer: two requests with one code, one wins. */
    totpUsed(userId: string, counter: number): boolean {
      const r = db
        .update(totpFactors)
        .set({ lastCounter: counter })
        .where(and(eq(totpFactors.userId, userId), lt(totpFactors.lastCounter, counter)))
        .run();
      return r.changes === 1;
    },

    /**
     * Removes a factor unless it is the last one: nobody can lock themselves out. Returns false
     * when refused.
     */
    removeFactor(userId: string, factor: { passkeyId: string } | { totp: true }): boolean {
      return db.transaction(() => {
        if (countSignInMethods(db, userId) <= 1) return false;
        if ('passkeyId' in factor) {
          return (
            db
              .delete(passkeys)
              .where(and(eq(passkeys.id, factor.passkeyId), eq(passkeys.userId, userId)))
              .run().changes === 1
          );
        }
        return db.delete(totpFactors).where(eq(totpFactors.userId, userId)).run().changes === 1;
      });
    },

    regenerateRecoveryCodes: (userId: string): string[] => db.transaction(() => recoveryCodesFor(userId)),
    recoveryCodesLeft: (userId: string): number =>
      db
        .select()
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
        .all().length,
    /** Consumes a recovery code of this user; false when it is not one, or already used. */
    useRecoveryCode(userId: string, code: string): boolean {
      const r = db
        .update(recoveryCodes)
        .set({ usedAt: clock() })
        .where(
          and(
            eq(recoveryCodes.codeHash, recoveryCodeHash(code)),
            eq(recoveryCodes.userId, userId),
            isNull(recoveryCodes.usedAt),
          ),
        )
        .run();
      return r.changes === 1;
    },

    startFlow(f: {
      kind: FlowKind;
      handle: string;
      userId?: string;
      challenge?: string;
      totpSecret?: string;
      inviteHash?: string | null;
    }): Flow {
      const now = clock();
      db.delete(authFlows).where(lt(authFlows.expiresAt, now)).run();
      const id = randomBytes(24).toString('base64url');
      const flow: Flow = {
        id,
        kind: f.kind,
        handle: f.handle,
        userId: f.userId ?? null,
        challenge: f.challenge ?? null,
        totpSecretSealed: f.totpSecret ? sealer.seal(f.totpSecret, `flow:${id}`) : null,
        expiresAt: now + FLOW_TTL_MS,
        inviteHash: f.inviteHash ?? null,
      };
      db.insert(authFlows).values(flow).run();
      return flow;
    },
    /** Takes a flow (single use: it is deleted); null when unknown, expired or of another kind. */
    takeFlow(id: unknown, kinds: readonly FlowKind[]): (Flow & { totpSecret: string | null }) | null {
      if (typeof id !== 'string') return null;
      const flow = db.delete(authFlows).where(eq(authFlows.id, id)).returning().get();
      if (!flow || flow.expiresAt <= clock() || !kinds.includes(flow.kind)) return null;
      return {
        ...flow,
        totpSecret: flow.totpSecretSealed ? sealer.open(flow.totpSecretSealed, `flow:${flow.id}`) : null,
      };
    },
    /** Reads a TOTP flow without taking it: a wrong code may be retried within the flow's life. */
    peekFlow(id: unknown, kind: FlowKind): (Flow & { totpSecret: string | null }) | null {
      if (typeof id !== 'string') return null;
      const flow = db.select().from(authFlows).where(eq(authFlows.id, id)).get();
      if (!flow || flow.expiresAt <= clock() || flow.kind !== kind) return null;
      return {
        ...flow,
        totpSecret: flow.totpSecretSealed ? sealer.open(flow.totpSecretSealed, `flow:${flow.id}`) : null,
      };
    },
    /** Admin invites (`matrixos admin-invite`): issue, check before a sign-up starts. */
    invites,
    dropFlow(id: string): void {
      db.delete(authFlows).where(eq(authFlows.id, id)).run();
    },
  };
}

export type AccountStore = ReturnType<typeof createAccountStore>;
