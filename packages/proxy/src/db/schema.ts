import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Each instance's own proxy token, as a SHA-256 hash: the proxy can tell who is calling from the
 * key alone, and a copied database gives no token away. Registered by the platform (admin API).
 */
export const instanceKeys = sqliteTable('instance_keys', {
  handle: text('handle').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** A user's own Anthropic key, sealed with AES-256-GCM (the handle is the associated data). */
export const ownKeys = sqliteTable('own_keys', {
  handle: text('handle').primaryKey(),
  sealed: text('sealed').notNull(),
  /** The last four characters, so the user can recognise which key is set. */
  hint: text('hint').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Budgets set by an admin, in micro-dollars; null means no limit. A handle without a row gets
 * the defaults from the configuration.
 */
export const quotas = sqliteTable('quotas', {
  handle: text('handle').primaryKey(),
  totalMicros: integer('total_micros'),
  dailyMicros: integer('daily_micros'),
  monthlyMicros: integer('monthly_micros'),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * What each handle spent per budget period (`total`, `day:YYYY-MM-DD`, `month:YYYY-MM`, UTC), so
 * that admission reads three rows instead of summing the request log. What requests in flight
 * may still cost is not kept here: it is the sum of their own reservations.
 */
export const spend = sqliteTable(
  'spend',
  {
    handle: text('handle').notNull(),
    period: text('period').notNull(),
    spentMicros: integer('spent_micros').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.handle, t.period] })],
);

/** One row per metered request: admitted as `in_flight`, then settled to its real usage and cost. */
export const requests = sqliteTable(
  'requests',
  {
    /** The rowid: a separate key index would be one more page written per request. */
    id: integer('id').primaryKey(),
    handle: text('handle').notNull(),
    model: text('model').notNull(),
    keySource: text('key_source', { enum: ['platform', 'own'] }).notNull(),
    stream: integer('stream', { mode: 'boolean' }).notNull(),
    /** It may use server tools (web search, web fetch): such requests run one at a time per handle. */
    serverTools: integer('server_tools', { mode: 'boolean' }).notNull().default(false),
    state: text('state', { enum: ['in_flight', 'settled', 'interrupted'] }).notNull(),
    /** How the request ended; null while in flight. */
    outcome: text('outcome', {
      enum: [
        'ok',
        'upstream_error',
        'stream_error',
        'client_disconnect',
        'upstream_unreachable',
        'interrupted',
      ],
    }),
    /** Where the token counts come from: the API's final figures, a cut-off stream, or our estimate. */
    usageSource: text('usage_source', { enum: ['reported', 'partial', 'estimated', 'none'] }),
    /** The most it could cost, held against the budgets while in flight. */
    reservedMicros: integer('reserved_micros').notNull(),
    costMicros: integer('cost_micros').notNull().default(0),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheWrite5mTokens: integer('cache_write_5m_tokens').notNull().default(0),
    cacheWrite1hTokens: integer('cache_write_1h_tokens').notNull().default(0),
    cacheReadTokens: integer('cache_read_tokens').notNull().default(0),
    webSearchRequests: integer('web_search_requests').notNull().default(0),
    upstreamStatus: integer('upstream_status'),
    upstreamRequestId: text('upstream_request_id'),
    startedAt: integer('started_at').notNull(),
    finishedAt: integer('finished_at'),
    /** The budget periods the request counts in, fixed at admission (UTC). */
    day: text('day').notNull(),
    month: text('month').notNull(),
  },
  (t) => [
    index('requests_handle_started').on(t.handle, t.startedAt),
    // Only requests in flight: a few rows per handle, for its slots and what they hold.
    index('requests_in_flight').on(t.handle).where(sql`${t.state} = 'in_flight'`),
  ],
);

/** Budget notices already sent: each threshold of each limit fires once per period. */
export const budgetNotices = sqliteTable(
  'budget_notices',
  {
    handle: text('handle').notNull(),
    period: text('period').notNull(),
    threshold: integer('threshold').notNull(),
    limitMicros: integer('limit_micros').notNull(),
    spentMicros: integer('spent_micros').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.handle, t.period, t.threshold, t.limitMicros] })],
);

export type RequestRow = typeof requests.$inferSelect;
export type Outcome = NonNullable<RequestRow['outcome']>;
export type UsageSource = NonNullable<RequestRow['usageSource']>;
export type KeySource = RequestRow['keySource'];
