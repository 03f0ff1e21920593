import type { Logger } from '@matrixos/shared';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { instanceJobs } from '../db/schema.ts';

export interface JobWakesDeps {
  db: Db;
  /** Starts (or resumes) a sleeping instance: the lifecycle's wake, shared with the router. */
  wake: (handle: string) => Promise<unknown>;
  /** Whether the instance sleeps (stopped or paused) right now. */
  sleeping: (handle: string) => boolean;
  log: Logger;
  clock?: () => number;
  /** Wake this long before the due time, so the job starts on time (a start takes seconds). */
  leadMs?: number;
}

const RETRY_MS = 30_000;
/** After the due time, the run itself keeps the instance awake (its reports are activity). */
const DUE_GRACE_MS = 5_000;
/** Timers are re-armed at least this often, so an injected or adjusted clock is followed. */
const MAX_TIMER_MS = 60_000;

/**
 * Wakes sleeping instances when their next job is due: one wake per instance, however many of
 * its jobs are due (the gateway reports only the earliest). The due times live in the database;
 * an awake instance is left alone (its own scheduler runs the job).
 */
export function createJobWakes(deps: JobWakesDeps) {
  const { db, log } = deps;
  const clock = deps.clock ?? Date.now;
  const leadMs = deps.leadMs ?? 30_000;
  const due = new Map<string, number>();
  for (const row of db.select().from(instanceJobs).all())
    if (row.nextDueAt !== null) due.set(row.handle, row.nextDueAt);
  const retryAt = new Map<string, number>();
  /** The due time already acted on per instance (woken, or found awake): never acted on twice. */
  const handled = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  function arm(): void {
    clearTimeout(timer);
    if (!running) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [handle, at] of due)
      if (handled.get(handle) !== at) next = Math.min(next, Math.max(at - leadMs, retryAt.get(handle) ?? 0));
    if (next === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(() => void tick(), Math.min(Math.max(next - clock(), 0), MAX_TIMER_MS));
    timer.unref();
  }

  /** Wakes every sleeping instance whose due time (minus the lead) has come. */
  async function tick(): Promise<string[]> {
    const now = clock();
    const woken: string[] = [];
    const work: Promise<void>[] = [];
    for (const [handle, at] of due) {
      if (handled.get(handle) === at || at - leadMs > now || (retryAt.get(handle) ?? 0) > now) continue;
      handled.set(handle, at);
      if (!deps.sleeping(handle)) continue; // awake: its scheduler runs the job itself
      woken.push(handle);
      work.push(
        deps.wake(handle).then(
          () => {
            retryAt.delete(handle);
            log.info({ handle, due: new Date(at).toISOString() }, 'woke an instance for a due job');
          },
          (err) => {
            handled.delete(handle);
            retryAt.set(handle, clock() + RETRY_MS);
            log.error({ handle, err }, 'could not wake an instance for a due job');
          },
        ),
      );
    }
    await Promise.all(work);
    arm();
    return woken;
  }

  return {
    /** The instance's report: its earliest next due time (null: nothing scheduled). */
    set(handle: string, at: number | null): void {
      const now = clock();
      db.insert(instanceJobs)
        .values({ handle, nextDueAt: at, updatedAt: now })
        .onConflictDoUpdate({ target: instanceJobs.handle, set: { nextDueAt: at, updatedAt: now } })
        .run();
      if (at === null) due.delete(handle);
      else due.set(handle, at);
      retryAt.delete(handle);
      handled.delete(handle);
      arm();
    },
    get: (handle: string): number | null => due.get(handle) ?? null,
    /** The repo to clone into a new instance's `~/jobs` (its environment carries it). */
    jobsRepo: (handle: string): string | null =>
      db.select().from(instanceJobs).where(eq(instanceJobs.handle, handle)).get()?.jobsRepo ?? null,
    setJobsRepo(handle: string, url: string | null): void {
      const now = clock();
      db.insert(instanceJobs)
        .values({ handle, nextDueAt: null, jobsRepo: url, updatedAt: now })
        .onConflictDoUpdate({ target: instanceJobs.handle, set: { jobsRepo: url, updatedAt: now } })
        .run();
    },
    /** Whether the instance has reported at all (its gateway's scheduler has started). */
    reported: (handle: string): boolean =>
      db.select().from(instanceJobs).where(eq(instanceJobs.handle, handle)).get() !== undefined,
    /** An instance about to run a job (due within the lead, or just due) must not be put to sleep. */
    dueSoon(handle: string): boolean {
      const at = due.get(handle);
      return at !== undefined && at - leadMs <= clock() && clock() <= at + DUE_GRACE_MS;
    },
    forget(handle: string): void {
      due.delete(handle);
      retryAt.delete(handle);
      handled.delete(handle);
      db.delete(instanceJobs).where(eq(instanceJobs.handle, handle)).run();
      arm();
    },
    tick,
    start(): void {
      running = true;
      arm();
    },
    stop(): void {
      running = false;
      clearTimeout(timer);
    },
  };
}

export type JobWakes = ReturnType<typeof createJobWakes>;
