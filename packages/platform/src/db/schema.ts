import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

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
    runtime: text('runtime', { enum: ['docker', 'process', 'swarm'] }).notNull(),
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
    /** Its data volume's key (`{handle}_{generation}`); null: made before generations, the handle. */
    volume: text('volume'),
    /**
     * Set while `image` is on trial (a rollout moved it there): the image it ran before, which its
     * next start goes back to if `image` does not become healthy. Null once `image` has proven itself.
     */
    previousImage: text('previous_image'),
    /** The node that holds its volume (swarm); null on one-host runtimes. */
    node: text('node'),
  },
  (t) => [index('instances_state').on(t.state)],
);

export type InstanceRow = typeof instances.$inferSelect;
export type InstanceState = InstanceRow['state'];

/** A person with an account; `handle` names their instance too. */
export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  handle: text('handle').notNull().unique(),
  role: text('role', { enum: ['user', 'admin'] }).notNull(),
  createdAt: integer('created_at').notNull(),
});

/** WebAuthn credentials (passkeys). The counter catches cloned authenticators. */
export const passkeys = sqliteTable(
  'passkeys',
  {
    /** The credential ID, base64url. */
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    publicKey: blob('public_key', { mode: 'buffer' }).notNull(),
    counter: integer('counter').notNull(),
    transports: text('transports', { mode: 'json' }).$type<string[]>().notNull(),
    deviceType: text('device_type').notNull(),
    backedUp: integer('backed_up', { mode: 'boolean' }).notNull(),
    name: text('name').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [index('passkeys_user').on(t.userId)],
);

/** A TOTP factor. `lastCounter` is the last accepted time step: a code is never accepted twice. */
export const totpFactors = sqliteTable('totp_factors', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  secretSealed: text('secret_sealed').notNull(),
  lastCounter: integer('last_counter').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** One-time recovery codes, stored as hashes; shown to the user once. */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    usedAt: integer('used_at'),
  },
  (t) => [index('recovery_codes_user').on(t.userId)],
);

/**
 * A sign-up, sign-in or factor-setup in progress: its challenge (or pending TOTP secret), single
 * use and short-lived. The browser holds only the flow's id.
 */
export const authFlows = sqliteTable('auth_flows', {
  id: text('id').primaryKey(),
  kind: text('kind', {
    enum: ['signup-passkey', 'signup-totp', 'login', 'add-passkey', 'add-totp', 'step-up'],
  }).notNull(),
  handle: text('handle').notNull(),
  userId: text('user_id'),
  challenge: text('challenge'),
  totpSecretSealed: text('totp_secret_sealed'),
  expiresAt: integer('expires_at').notNull(),
  /** A sign-up started with an admin invite: its hash, redeemed when the account is created. */
  inviteHash: text('invite_hash'),
});

/** One-time sign-up links that make their user an admin (`matrixos admin-invite`); hashed at rest. */
export const adminInvites = sqliteTable('admin_invites', {
  tokenHash: text('token_hash').primaryKey(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
  usedBy: text('used_by'),
});

/** A signed-in browser: every token issued to it belongs to this family, revoked as one. */
export const sessionFamilies = sqliteTable(
  'session_families',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
    revokedReason: text('revoked_reason'),
    userAgent: text('user_agent'),
    /** When a factor was last proven in this session (sign-in, step-up): changing factors needs it recent. */
    verifiedAt: integer('verified_at'),
  },
  (t) => [index('session_families_user').on(t.userId)],
);

/** Refresh tokens (hashes). Rotated on use; presenting a used one revokes its whole family. */
export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    familyId: text('family_id')
      .notNull()
      .references(() => sessionFamilies.id, { onDelete: 'cascade' }),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    /** The token it was traded for, sealed: what a parallel request in the grace window gets too. */
    successorSealed: text('successor_sealed'),
  },
  (t) => [index('refresh_tokens_family').on(t.familyId)],
);

/** One-use tokens that carry a signed-in user from the control plane to their instance's host. */
export const bridgeTokens = sqliteTable('bridge_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  familyId: text('family_id')
    .notNull()
    .references(() => sessionFamilies.id, { onDelete: 'cascade' }),
  handle: text('handle').notNull(),
  /** The exact host (with port) it may be redeemed on. */
  host: text('host').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
});

/**
 * A browser's session on an instance's host, minted from a bridge token, as long as the instance
 * pass carrying it; dies with its family. Its id is public (the pass names it, for revocations);
 * the column's name is from when the cookie held a secret and only its hash was kept.
 */
export const instanceSessions = sqliteTable(
  'instance_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    familyId: text('family_id')
      .notNull()
      .references(() => sessionFamilies.id, { onDelete: 'cascade' }),
    handle: text('handle').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('instance_sessions_family').on(t.familyId)],
);

export type UserRow = typeof users.$inferSelect;
export type PasskeyRow = typeof passkeys.$inferSelect;

/**
 * An OpenID Connect identity as a sign-in method of an account, beside passkeys and TOTP. It is
 * the provider's (issuer, subject) pair, never an email: an email names no one for sure. `email`
 * is kept only when the provider said it is verified, for display.
 */
export const oidcIdentities = sqliteTable(
  'oidc_identities',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The configured provider's id (`google`, ...), for its name on the dashboard. */
    provider: text('provider').notNull(),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    email: text('email'),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [
    uniqueIndex('oidc_identities_issuer_subject').on(t.issuer, t.subject),
    index('oidc_identities_user').on(t.userId),
  ],
);

/**
 * An OpenID Connect round trip in progress, bound to the browser that started it (the cookie
 * holds `id`): its `state`, `nonce` and PKCE verifier (sealed), what it is for, and, for a
 * sign-up waiting for its handle, the identity the provider vouched for. Single use, short-lived.
 */
export const oidcFlows = sqliteTable('oidc_flows', {
  id: text('id').primaryKey(),
  provider: text('provider').notNull(),
  intent: text('intent', { enum: ['login', 'signup', 'link', 'signup-handle'] }).notNull(),
  /** The signed-in user a link is for. */
  userId: text('user_id'),
  state: text('state').notNull(),
  nonce: text('nonce').notNull(),
  verifierSealed: text('verifier_sealed').notNull(),
  issuer: text('issuer'),
  subject: text('subject'),
  email: text('email'),
  /** Where a sign-in goes afterwards (`?next=` of the sign-in page, checked): a handle or a path. */
  next: text('next'),
  expiresAt: integer('expires_at').notNull(),
});

export type OidcIdentityRow = typeof oidcIdentities.$inferSelect;
export type OidcFlowRow = typeof oidcFlows.$inferSelect;

/**
 * Data kept when an instance was destroyed without deleting it: its handle stays reserved (no
 * one else may sign up with it or be given it) until an admin deletes the data or restores it.
 */
export const keptVolumes = sqliteTable('kept_volumes', {
  handle: text('handle').primaryKey(),
  volume: text('volume').notNull(),
  keptAt: integer('kept_at').notNull(),
});

export type KeptVolumeRow = typeof keptVolumes.$inferSelect;

/**
 * When each instance's next job is due, as its gateway last reported it (issue 9): the
 * lifecycle wakes a sleeping instance then. Kept in the database so a platform restart keeps it.
 */
export const instanceJobs = sqliteTable('instance_jobs', {
  handle: text('handle').primaryKey(),
  nextDueAt: integer('next_due_at'),
  /** A git URL cloned into the instance's `~/jobs` before its first boot (provision's `jobsRepo`). */
  jobsRepo: text('jobs_repo'),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * A user's Stripe customer and what their subscription was, last we read it from Stripe
 * (docs/billing.md). `plan` is what the platform applies: a paid plan id, or `free`.
 */
export const billingAccounts = sqliteTable('billing_accounts', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  customerId: text('customer_id').unique(),
  subscriptionId: text('subscription_id'),
  plan: text('plan').notNull(),
  /** Stripe's subscription status (active, trialing, past_due, canceled...). */
  status: text('status'),
  periodEnd: integer('period_end'),
  cancelAtPeriodEnd: integer('cancel_at_period_end', { mode: 'boolean' }).notNull(),
  /** After a failed payment: the paid plan stays until then, then falls back to free. */
  graceUntil: integer('grace_until'),
  /** When a paid plan last ended (retention counts from here); null while paid or never paid. */
  endedAt: integer('ended_at'),
  /** When the user was told their data will be deleted (retention), for this ending. */
  deletionNoticeAt: integer('deletion_notice_at'),
  /** Usage-based billing: the month (YYYY-MM) and the overage, in cents, reported to Stripe so far. */
  meteredMonth: text('metered_month'),
  meteredCents: integer('metered_cents').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Stripe events already handled, by id: a replay or a duplicate delivery changes nothing. */
export const billingEvents = sqliteTable('billing_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  receivedAt: integer('received_at').notNull(),
});

export type BillingAccountRow = typeof billingAccounts.$inferSelect;

/**
 * A user's two Matrix accounts, `@{handle}` (theirs, for any Matrix client) and `@{handle}_ai`
 * (their instance's AI). Each secret is a sealed JSON `{password, accessToken, deviceId}`, bound
 * to the handle and the account: `@{handle}_ai`'s reaches only that user's instance.
 */
export const matrixAccounts = sqliteTable('matrix_accounts', {
  handle: text('handle').primaryKey(),
  userId: text('user_id').notNull(),
  userSecretSealed: text('user_secret_sealed').notNull(),
  aiUserId: text('ai_user_id').notNull(),
  aiSecretSealed: text('ai_secret_sealed').notNull(),
  createdAt: integer('created_at').notNull(),
});

export type MatrixAccountRow = typeof matrixAccounts.$inferSelect;

/** Rooms an `@{handle}_ai` is in or invited to, as the appservice heard: a message there wakes it. */
export const matrixRooms = sqliteTable(
  'matrix_rooms',
  {
    roomId: text('room_id').notNull(),
    handle: text('handle').notNull(),
  },
  (t) => [uniqueIndex('matrix_rooms_room_handle').on(t.roomId, t.handle)],
);

/** Issue 8: the last profile and AI profile each instance published (discovery never wakes it). */
export const socialProfiles = sqliteTable('social_profiles', {
  handle: text('handle').primaryKey(),
  displayName: text('display_name'),
  avatar: text('avatar'),
  profileMd: text('profile_md'),
  aiProfileMd: text('ai_profile_md'),
  publishedAt: integer('published_at').notNull(),
});

/** A user's social settings; no row: the defaults (`SOCIAL_DEFAULTS`). */
export const socialSettings = sqliteTable('social_settings', {
  handle: text('handle').primaryKey(),
  discoverable: integer('discoverable', { mode: 'boolean' }).notNull(),
  shareApps: integer('share_apps', { mode: 'boolean' }).notNull(),
  autoReply: integer('auto_reply', { mode: 'boolean' }).notNull(),
  dailyAutoReplyCap: integer('daily_auto_reply_cap').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const socialBlocks = sqliteTable(
  'social_blocks',
  {
    owner: text('owner').notNull(),
    blocked: text('blocked').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.blocked] })],
);

/** The global feed: who did what when (a conversation's content is never here). */
export const socialEvents = sqliteTable(
  'social_events',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ['signup', 'profile_updated', 'app_shared', 'ai_conversation'] }).notNull(),
    handle: text('handle').notNull(),
    withHandle: text('with_handle'),
    appName: text('app_name'),
    appTitle: text('app_title'),
    at: integer('at').notNull(),
  },
  (t) => [index('social_events_handle').on(t.handle)],
);

/** Messages relayed between instances: who, whom and when, for limits and replies; never the text. */
export const socialMessages = sqliteTable(
  'social_messages',
  {
    id: text('id').primaryKey(),
    fromHandle: text('from_handle').notNull(),
    toHandle: text('to_handle').notNull(),
    inReplyTo: text('in_reply_to'),
    sentAt: integer('sent_at').notNull(),
    delivered: integer('delivered', { mode: 'boolean' }).notNull(),
  },
  (t) => [
    index('social_messages_from').on(t.fromHandle, t.sentAt),
    index('social_messages_to').on(t.toHandle, t.sentAt),
  ],
);

export type SocialEventRow = typeof socialEvents.$inferSelect;

/**
 * A rolling instance-image upgrade (`src/rollout/`): instances move to `image` one at a time, each
 * gated on its health check. `running` until every step is done, `failed` at the first instance
 * the image did not come up healthy on (the rest stay where they are), `interrupted` when the
 * platform stopped during it (the next start begins a new one).
 */
export const rollouts = sqliteTable(
  'rollouts',
  {
    id: text('id').primaryKey(),
    image: text('image').notNull(),
    state: text('state', { enum: ['running', 'done', 'failed', 'interrupted'] }).notNull(),
    /** `start`: the platform started with a new INSTANCE_IMAGE; `admin`: an admin asked for it. */
    trigger: text('trigger', { enum: ['start', 'admin'] }).notNull(),
    startedAt: integer('started_at').notNull(),
    finishedAt: integer('finished_at'),
    error: text('error'),
  },
  (t) => [index('rollouts_started').on(t.startedAt)],
);

export type RolloutRow = typeof rollouts.$inferSelect;

/** One instance of a rollout, in the order they move. */
export const rolloutSteps = sqliteTable(
  'rollout_steps',
  {
    rolloutId: text('rollout_id')
      .notNull()
      .references(() => rollouts.id, { onDelete: 'cascade' }),
    handle: text('handle').notNull(),
    position: integer('position').notNull(),
    fromImage: text('from_image').notNull(),
    /**
     * `pending` (not its turn yet), `moved` (running and healthy on the new image), `on_wake`
     * (asleep: it starts on the new image at its next wake, and goes back if that fails),
     * `rolled_back` (the new image did not become healthy: back on `fromImage`), `skipped`
     * (gone, or already on the image, when its turn came), `not_reached` (the rollout stopped first).
     */
    outcome: text('outcome', {
      enum: ['pending', 'moved', 'on_wake', 'rolled_back', 'skipped', 'not_reached'],
    }).notNull(),
    error: text('error'),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
  },
  (t) => [primaryKey({ columns: [t.rolloutId, t.handle] })],
);

export type RolloutStepRow = typeof rolloutSteps.$inferSelect;
