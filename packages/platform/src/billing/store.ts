import { eq, lt } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { type BillingAccountRow, billingAccounts, billingEvents } from '../db/schema.ts';

/** The billing tables: one row per user who ever went to Checkout, and the events handled. */
export function createBillingStore(db: Db, clock: () => number) {
  const fresh = (userId: string): BillingAccountRow => ({
    userId,
    customerId: null,
    subscriptionId: null,
    plan: 'free',
    status: null,
    periodEnd: null,
    cancelAtPeriodEnd: false,
    graceUntil: null,
    endedAt: null,
    deletionNoticeAt: null,
    meteredMonth: null,
    meteredCents: 0,
    updatedAt: clock(),
  });
  return {
    /** The user's row, or a free one that is not stored yet. */
    of: (userId: string): BillingAccountRow =>
      db.select().from(billingAccounts).where(eq(billingAccounts.userId, userId)).get() ?? fresh(userId),
    byCustomer: (customerId: string): BillingAccountRow | undefined =>
      db.select().from(billingAccounts).where(eq(billingAccounts.customerId, customerId)).get(),
    all: (): BillingAccountRow[] => db.select().from(billingAccounts).all(),
    seen: (eventId: string): boolean =>
      db.select().from(billingEvents).where(eq(billingEvents.id, eventId)).get() !== undefined,
    pruneEvents(before: number): void {
      db.delete(billingEvents).where(lt(billingEvents.receivedAt, before)).run();
    },
    save(row: BillingAccountRow): void {
      const next = { ...row, updatedAt: clock() };
      db.insert(billingAccounts)
        .values(next)
        .onConflictDoUpdate({ target: billingAccounts.userId, set: next })
        .run();
    },
    /**
     * Records the event and the row it produced in one transaction; false (and nothing written)
     * when the event was recorded before: a duplicate delivery that raced this one.
     */
    saveWithEvent(row: BillingAccountRow | null, event: { id: string; type: string }): boolean {
      return db.transaction(() => {
        const inserted = db
          .insert(billingEvents)
          .values({ id: event.id, type: event.type, receivedAt: clock() })
          .onConflictDoNothing()
          .run();
        if (inserted.changes === 0) return false;
        if (row) {
          const next = { ...row, updatedAt: clock() };
          db.insert(billingAccounts)
            .values(next)
            .onConflictDoUpdate({ target: billingAccounts.userId, set: next })
            .run();
        }
        return true;
      });
    },
  };
}

export type BillingStore = ReturnType<typeof createBillingStore>;
