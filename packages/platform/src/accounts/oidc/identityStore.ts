import { randomBytes } from 'node:crypto';
import type { Sealer } from '@matrixos/shared';
import { and, eq, lt } from 'drizzle-orm';
import type { Db } from '../../db/openDb.ts';
import { type OidcFlowRow, type OidcIdentityRow, oidcFlows, oidcIdentities } from '../../db/schema.ts';
import { countSignInMethods } from './countSignInMethods.ts';
import { insertIdentity } from './insertIdentity.ts';

/** A round trip to the provider and back (and a handle step after it) fits in this. */
export const OIDC_FLOW_TTL_MS = 10 * 60 * 1000;

/** What a provider vouched for, after its ID token was verified. */
export interface VerifiedIdentity {
  provider: string;
  issuer: string;
  subject: string;
  /** Only when the provider said `email_verified: true`. */
  email: string | null;
}

export type OidcIntent = 'login' | 'signup' | 'link';
export type OidcFlow = OidcFlowRow & { verifier: string };

/** Provider identities of accounts, and the flows that prove them: all their writes go here. */
export function createIdentityStore(deps: { db: Db; sealer: Sealer; clock?: () => number }) {
  const { db, sealer } = deps;
  const clock = deps.clock ?? Date.now;

  const insert = (userId: string, identity: VerifiedIdentity) =>
    insertIdentity(db, userId, identity, clock());

  const byIssuerSubject = (issuer: string, subject: string): OidcIdentityRow | undefined =>
    db
      .select()
      .from(oidcIdentities)
      .where(and(eq(oidcIdentities.issuer, issuer), eq(oidcIdentities.subject, subject)))
      .get();

  return {
    byIssuerSubject,
    identitiesOf: (userId: string): OidcIdentityRow[] =>
      db
        .select()
        .from(oidcIdentities)
        .where(eq(oidcIdentities.userId, userId))
        .orderBy(oidcIdentities.createdAt)
        .all(),
    /** Records a sign-in with it (the dashboard shows when each method was last used). */
    used(id: string): void {
      db.update(oidcIdentities).set({ lastUsedAt: clock() }).where(eq(oidcIdentities.id, id)).run();
    },
    /**
     * Adds the identity to this user's methods; null when any account (this one included)
     * already has it. The unique (issuer, subject) index decides, so two links at once add one.
     */
    link(userId: string, identity: VerifiedIdentity): OidcIdentityRow | null {
      try {
        return insert(userId, identity);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return null;
        throw err;
      }
    },
    /** Removes one of the user's identities unless it is their last way to sign in. */
    unlink(userId: string, id: string): 'removed' | 'not_found' | 'last_method' {
      return db.transaction(() => {
        const row = db
          .select()
          .from(oidcIdentities)
          .where(and(eq(oidcIdentities.id, id), eq(oidcIdentities.userId, userId)))
          .get();
        if (!row) return 'not_found';
        if (countSignInMethods(db, userId) <= 1) return 'last_method';
        db.delete(oidcIdentities).where(eq(oidcIdentities.id, id)).run();
        return 'removed';
      });
    },

    startFlow(f: {
      provider: string;
      intent: OidcIntent;
      userId?: string;
      state: string;
      nonce: string;
      verifier: string;
      next?: string | null;
    }): OidcFlowRow {
      const now = clock();
      db.delete(oidcFlows).where(lt(oidcFlows.expiresAt, now)).run();
      const id = randomBytes(24).toString('base64url');
      const row: OidcFlowRow = {
        id,
        provider: f.provider,
        intent: f.intent,
        userId: f.userId ?? null,
        state: f.state,
        nonce: f.nonce,
        verifierSealed: sealer.seal(f.verifier, `oidc-flow:${id}`),
        issuer: null,
        subject: null,
        email: null,
        next: f.next ?? null,
        expiresAt: now + OIDC_FLOW_TTL_MS,
      };
      db.insert(oidcFlows).values(row).run();
      return row;
    },
    /**
     * Takes the browser's flow (single use: deleted, whatever happens next). Null when the
     * cookie names no live flow, or the flow was started for another provider or step.
     */
    takeFlow(
      id: string | undefined,
      provider: string | null,
      intents: readonly OidcFlowRow['intent'][],
    ): OidcFlow | null {
      if (!id) return null;
      const flow = db.delete(oidcFlows).where(eq(oidcFlows.id, id)).returning().get();
      if (!flow || flow.expiresAt <= clock() || !intents.includes(flow.intent)) return null;
      if (provider !== null && flow.provider !== provider) return null;
      return { ...flow, verifier: sealer.open(flow.verifierSealed, `oidc-flow:${flow.id}`) };
    },
    /** A sign-up that passed the provider and waits for its handle: the identity, held briefly. */
    holdSignup(identity: VerifiedIdentity): OidcFlowRow {
      const now = clock();
      const id = randomBytes(24).toString('base64url');
      const row: OidcFlowRow = {
        id,
        provider: identity.provider,
        intent: 'signup-handle',
        userId: null,
        state: '',
        nonce: '',
        verifierSealed: sealer.seal('', `oidc-flow:${id}`),
        issuer: identity.issuer,
        subject: identity.subject,
        email: identity.email,
        next: null,
        expiresAt: now + OIDC_FLOW_TTL_MS,
      };
      db.insert(oidcFlows).values(row).run();
      return row;
    },
    /** Reads the held sign-up without taking it: a taken handle may be retried. */
    peekSignup(id: string | undefined): OidcFlowRow | null {
      if (!id) return null;
      const flow = db.select().from(oidcFlows).where(eq(oidcFlows.id, id)).get();
      if (!flow || flow.expiresAt <= clock() || flow.intent !== 'signup-handle') return null;
      return flow;
    },
    dropFlow(id: string): void {
      db.delete(oidcFlows).where(eq(oidcFlows.id, id)).run();
    },
  };
}

export type IdentityStore = ReturnType<typeof createIdentityStore>;
