import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import { type MatrixAccountRow, matrixAccounts, matrixRooms } from '../db/schema.ts';

/** The matrix_accounts and matrix_rooms tables, and nothing else. */
export function createMatrixAccountStore(db: Db) {
  return {
    get(handle: string): MatrixAccountRow | undefined {
      return db.select().from(matrixAccounts).where(eq(matrixAccounts.handle, handle)).get();
    },
    insert(row: MatrixAccountRow): void {
      db.insert(matrixAccounts).values(row).run();
    },
    /** Replaces the sealed secret of `@{handle}` (a new password). */
    setUserSecret(handle: string, userSecretSealed: string): void {
      db.update(matrixAccounts).set({ userSecretSealed }).where(eq(matrixAccounts.handle, handle)).run();
    },
    delete(handle: string): void {
      db.delete(matrixAccounts).where(eq(matrixAccounts.handle, handle)).run();
      db.delete(matrixRooms).where(eq(matrixRooms.handle, handle)).run();
    },
    rooms: {
      add(roomId: string, handle: string): void {
        db.insert(matrixRooms).values({ roomId, handle }).onConflictDoNothing().run();
      },
      remove(roomId: string, handle: string): void {
        db.delete(matrixRooms)
          .where(and(eq(matrixRooms.roomId, roomId), eq(matrixRooms.handle, handle)))
          .run();
      },
      handlesIn(roomId: string): string[] {
        return db
          .select({ handle: matrixRooms.handle })
          .from(matrixRooms)
          .where(eq(matrixRooms.roomId, roomId))
          .all()
          .map((r) => r.handle);
      },
    },
  };
}

export type MatrixAccountStore = ReturnType<typeof createMatrixAccountStore>;
