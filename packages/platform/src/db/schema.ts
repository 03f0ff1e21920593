import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * One row per user instance: the desired state the reconciler converges the engine to.
 * `state` is what the platform last decided (`provisioning` until the first start succeeds);
 * the engine's own view is read live, never trusted from here.
 */
export const instances = sqliteTable(
  'instances',
  {
    handle: text('handle').primaryKey(),
    state: text('state', { enum: ['provisioning', 'running', 'paused', 'stopped'] }).notNull(),
    /** Which driver made it; an instance is never moved between engines implicitly. */
    runtime: text('runtime', { enum: ['docker', 'process'] }).notNull(),
    /** The engine's id for it; null until created, or after the engine lost it. */
    engineId: text('engine_id'),
    image: text('image').notNull(),
    /** The instance's own API token and LLM proxy token, sealed (AES-GCM) with the platform key. */
    authTokenSealed: text('auth_token_sealed').notNull(),
    proxyTokenSealed: text('proxy_token_sealed').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    lastActiveAt: integer('last_active_at').notNull(),
    /** The last failure of an operation on it, shown to the admin; cleared on success. */
    lastError: text('last_error'),
  },
  (t) => [index('instances_state').on(t.state)],
);

export type InstanceRow = typeof instances.$inferSelect;
export type InstanceState = InstanceRow['state'];
