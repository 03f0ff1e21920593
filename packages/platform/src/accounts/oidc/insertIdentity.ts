import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/openDb.ts';
import { type OidcIdentityRow, oidcIdentities } from '../../db/schema.ts';
import type { VerifiedIdentity } from './identityStore.ts';

/** Adds a provider identity to a user; throws on a duplicate (issuer, subject) (unique index). */
export function insertIdentity(
  db: Db,
  userId: string,
  identity: VerifiedIdentity,
  now: number,
): OidcIdentityRow {
  const row: OidcIdentityRow = { id: randomUUID(), userId, ...identity, createdAt: now, lastUsedAt: null };
  db.insert(oidcIdentities).values(row).run();
  return row;
}
