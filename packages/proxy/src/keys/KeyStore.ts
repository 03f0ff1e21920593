import { hash as digest } from 'node:crypto';
import type { Sealer } from '@matrixos/shared';
import { HttpError } from '@matrixos/shared';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { instanceKeys, ownKeys } from '../db/schema.ts';

const hash = (token: string) => digest('sha256', token, 'hex');

export interface OwnKeyInfo {
  configured: boolean;
  /** `…abcd`: enough to recognise the key, useless to anyone else. */
  hint: string | null;
}

export type KeyStore = ReturnType<typeof createKeyStore>;

/**
 * Who a key belongs to. Instance tokens are stored as SHA-256 hashes (they are 256-bit random,
 * so a plain hash is enough); users' own Anthropic keys are sealed, since they must be used.
 */
export function createKeyStore(db: Db, sealer: Sealer, now: () => number = Date.now) {
  // Every /v1 request looks up its caller: prepared once.
  const byHash = db
    .select({ handle: instanceKeys.handle })
    .from(instanceKeys)
    .where(eq(instanceKeys.tokenHash, sql.placeholder('hash')))
    .prepare();
  const ownKeyOf = db
    .select({ sealed: ownKeys.sealed })
    .from(ownKeys)
    .where(eq(ownKeys.handle, sql.placeholder('handle')))
    .prepare();
  return {
    /** Registers (or rotates) the proxy token of `handle`; a token can belong to one handle only. */
    register(handle: string, token: string): void {
      const tokenHash = hash(token);
      const owner = db.select().from(instanceKeys).where(eq(instanceKeys.tokenHash, tokenHash)).get();
      if (owner && owner.handle !== handle)
        throw new HttpError(409, 'token_in_use', 'this token belongs to another handle');
      const at = now();
      db.insert(instanceKeys)
        .values({ handle, tokenHash, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target: instanceKeys.handle, set: { tokenHash, updatedAt: at } })
        .run();
    },

    /** Forgets the handle's token and its own Anthropic key; true when there was a token. */
    revoke(handle: string): boolean {
      db.delete(ownKeys).where(eq(ownKeys.handle, handle)).run();
      return db.delete(instanceKeys).where(eq(instanceKeys.handle, handle)).run().changes > 0;
    },

    handleFor(token: string): string | null {
      return byHash.get({ hash: hash(token) })?.handle ?? null;
    },

    setOwnKey(handle: string, apiKey: string): OwnKeyInfo {
      const hint = `…${apiKey.slice(-4)}`;
      const sealed = sealer.seal(apiKey, handle);
      const at = now();
      db.insert(ownKeys)
        .values({ handle, sealed, hint, updatedAt: at })
        .onConflictDoUpdate({ target: ownKeys.handle, set: { sealed, hint, updatedAt: at } })
        .run();
      return { configured: true, hint };
    },

    deleteOwnKey(handle: string): void {
      db.delete(ownKeys).where(eq(ownKeys.handle, handle)).run();
    },

    ownKeyInfo(handle: string): OwnKeyInfo {
      const row = db.select({ hint: ownKeys.hint }).from(ownKeys).where(eq(ownKeys.handle, handle)).get();
      return { configured: row !== undefined, hint: row?.hint ?? null };
    },

    /** The user's own Anthropic key in clear, for the upstream request only. */
    ownKey(handle: string): string | null {
      const row = ownKeyOf.get({ handle });
      return row ? sealer.open(row.sealed, handle) : null;
    },
  };
}
