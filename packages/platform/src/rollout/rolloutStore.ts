import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { type RolloutRow, type RolloutStepRow, rolloutSteps, rollouts } from '../db/schema.ts';

/** The rollouts and their steps, and nothing else: every read and write of them goes through here. */
export function createRolloutStore(db: Db) {
  return {
    /** A new rollout with its steps, in one transaction (never a rollout without its plan). */
    insert(rollout: RolloutRow, handles: { handle: string; fromImage: string }[]): void {
      db.transaction((tx) => {
        tx.insert(rollouts).values(rollout).run();
        handles.forEach((h, position) => {
          tx.insert(rolloutSteps)
            .values({
              rolloutId: rollout.id,
              ...h,
              position,
              outcome: 'pending',
              error: null,
              startedAt: null,
              finishedAt: null,
            })
            .run();
        });
      });
    },
    get(id: string): RolloutRow | undefined {
      return db.select().from(rollouts).where(eq(rollouts.id, id)).get();
    },
    latest(): RolloutRow | undefined {
      return db.select().from(rollouts).orderBy(desc(rollouts.startedAt), desc(rollouts.id)).limit(1).get();
    },
    steps(id: string): RolloutStepRow[] {
      return db
        .select()
        .from(rolloutSteps)
        .where(eq(rolloutSteps.rolloutId, id))
        .orderBy(rolloutSteps.position)
        .all();
    },
    updateStep(
      id: string,
      handle: string,
      patch: Partial<Omit<RolloutStepRow, 'rolloutId' | 'handle'>>,
    ): void {
      db.update(rolloutSteps)
        .set(patch)
        .where(and(eq(rolloutSteps.rolloutId, id), eq(rolloutSteps.handle, handle)))
        .run();
    },
    /** Ends it; the steps whose turn never came say so. */
    finish(id: string, state: 'done' | 'failed' | 'interrupted', at: number, error: string | null): void {
      db.transaction((tx) => {
        tx.update(rolloutSteps)
          .set({ outcome: 'not_reached' })
          .where(and(eq(rolloutSteps.rolloutId, id), eq(rolloutSteps.outcome, 'pending')))
          .run();
        tx.update(rollouts).set({ state, finishedAt: at, error }).where(eq(rollouts.id, id)).run();
      });
    },
    /** Rollouts a stopped platform left running. */
    running(): RolloutRow[] {
      return db.select().from(rollouts).where(eq(rollouts.state, 'running')).all();
    },
  };
}

export type RolloutStore = ReturnType<typeof createRolloutStore>;
