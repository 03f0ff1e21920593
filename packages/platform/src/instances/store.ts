import { eq, gt } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { type InstanceRow, instances, type KeptVolumeRow, keptVolumes } from '../db/schema.ts';

/** The instances table, and nothing else: every read and write of a row goes through here. */
export function createInstanceStore(db: Db) {
  return {
    get(handle: string): InstanceRow | undefined {
      return db.select().from(instances).where(eq(instances.handle, handle)).get();
    },
    list(): InstanceRow[] {
      return db.select().from(instances).orderBy(instances.handle).all();
    },
    /** Up to `limit` rows in handle order after `after` (exclusive): one page of a listing. */
    page(after: string | undefined, limit: number): InstanceRow[] {
      const q = db.select().from(instances);
      return (after === undefined ? q : q.where(gt(instances.handle, after)))
        .orderBy(instances.handle)
        .limit(limit)
        .all();
    },
    insert(row: InstanceRow): void {
      db.insert(instances).values(row).run();
    },
    update(handle: string, patch: Partial<Omit<InstanceRow, 'handle'>>): void {
      db.update(instances).set(patch).where(eq(instances.handle, handle)).run();
    },
    delete(handle: string): void {
      db.delete(instances).where(eq(instances.handle, handle)).run();
    },
    /** Data kept after its instance was destroyed: the handle stays reserved while this exists. */
    kept: {
      get(handle: string): KeptVolumeRow | undefined {
        return db.select().from(keptVolumes).where(eq(keptVolumes.handle, handle)).get();
      },
      list(): KeptVolumeRow[] {
        return db.select().from(keptVolumes).orderBy(keptVolumes.handle).all();
      },
      put(row: KeptVolumeRow): void {
        db.insert(keptVolumes)
          .values(row)
          .onConflictDoUpdate({ target: keptVolumes.handle, set: { volume: row.volume, keptAt: row.keptAt } })
          .run();
      },
      delete(handle: string): void {
        db.delete(keptVolumes).where(eq(keptVolumes.handle, handle)).run();
      },
    },
    counts(): Record<InstanceRow['state'] | 'total', number> {
      const c = { total: 0, provisioning: 0, running: 0, paused: 0, stopped: 0 };
      for (const { state } of db.select({ state: instances.state }).from(instances).all()) {
        c[state]++;
        c.total++;
      }
      return c;
    },
  };
}

export type InstanceStore = ReturnType<typeof createInstanceStore>;
