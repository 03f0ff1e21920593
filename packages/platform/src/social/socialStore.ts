import { and, count, desc, eq, gte, isNull, lt, not, or } from 'drizzle-orm';
import { SOCIAL_DEFAULTS, type SocialSettings } from '../api/contract/social.ts';
import type { Db } from '../db/openDb.ts';
import {
  type SocialEventRow,
  socialBlocks,
  socialEvents,
  socialMessages,
  socialProfiles,
  socialSettings,
} from '../db/schema.ts';

export type SocialProfileRow = typeof socialProfiles.$inferSelect;
type Settings = Omit<SocialSettings, 'blocks'>;
export type NewEvent = Omit<SocialEventRow, 'seq' | 'at' | 'withHandle' | 'appName' | 'appTitle'> &
  Partial<Pick<SocialEventRow, 'withHandle' | 'appName' | 'appTitle'>>;

/** The social tables, and nothing else: every read and write of them goes through here. */
export function createSocialStore(db: Db, clock: () => number = Date.now) {
  return {
    profile(handle: string): SocialProfileRow | undefined {
      return db.select().from(socialProfiles).where(eq(socialProfiles.handle, handle)).get();
    },
    putProfile(row: SocialProfileRow): void {
      db.insert(socialProfiles)
        .values(row)
        .onConflictDoUpdate({ target: socialProfiles.handle, set: row })
        .run();
    },

    settings(handle: string): Settings {
      const row = db.select().from(socialSettings).where(eq(socialSettings.handle, handle)).get();
      if (!row) return { ...SOCIAL_DEFAULTS };
      const { discoverable, shareApps, autoReply, dailyAutoReplyCap } = row;
      return { discoverable, shareApps, autoReply, dailyAutoReplyCap };
    },
    putSettings(handle: string, s: Settings): void {
      const row = { handle, ...s, updatedAt: clock() };
      db.insert(socialSettings)
        .values(row)
        .onConflictDoUpdate({ target: socialSettings.handle, set: row })
        .run();
    },
    /** Handles that chose not to be discoverable (few: the default is discoverable). */
    hidden(): Set<string> {
      const rows = db
        .select({ handle: socialSettings.handle })
        .from(socialSettings)
        .where(eq(socialSettings.discoverable, false))
        .all();
      return new Set(rows.map((r) => r.handle));
    },
    notSharingApps(): Set<string> {
      const rows = db
        .select({ handle: socialSettings.handle })
        .from(socialSettings)
        .where(eq(socialSettings.shareApps, false))
        .all();
      return new Set(rows.map((r) => r.handle));
    },

    blocks(owner: string): string[] {
      return db
        .select({ blocked: socialBlocks.blocked })
        .from(socialBlocks)
        .where(eq(socialBlocks.owner, owner))
        .orderBy(socialBlocks.blocked)
        .all()
        .map((r) => r.blocked);
    },
    isBlocked(owner: string, sender: string): boolean {
      return !!db
        .select({ owner: socialBlocks.owner })
        .from(socialBlocks)
        .where(and(eq(socialBlocks.owner, owner), eq(socialBlocks.blocked, sender)))
        .get();
    },
    block(owner: string, blocked: string): void {
      db.insert(socialBlocks).values({ owner, blocked, createdAt: clock() }).onConflictDoNothing().run();
    },
    unblock(owner: string, blocked: string): void {
      db.delete(socialBlocks)
        .where(and(eq(socialBlocks.owner, owner), eq(socialBlocks.blocked, blocked)))
        .run();
    },

    record(event: NewEvent): void {
      db.insert(socialEvents)
        .values({ withHandle: null, appName: null, appTitle: null, ...event, at: clock() })
        .run();
    },
    /** Events before `beforeSeq` (all when null), newest first. */
    events(beforeSeq: number | null, limit: number): SocialEventRow[] {
      return db
        .select()
        .from(socialEvents)
        .where(beforeSeq === null ? undefined : lt(socialEvents.seq, beforeSeq))
        .orderBy(desc(socialEvents.seq))
        .limit(limit)
        .all();
    },
    /** Whether these two had a conversation in the feed since `since` (either way round). */
    conversedSince(a: string, b: string, since: number): boolean {
      return !!db
        .select({ seq: socialEvents.seq })
        .from(socialEvents)
        .where(
          and(
            eq(socialEvents.kind, 'ai_conversation'),
            gte(socialEvents.at, since),
            or(
              and(eq(socialEvents.handle, a), eq(socialEvents.withHandle, b)),
              and(eq(socialEvents.handle, b), eq(socialEvents.withHandle, a)),
            ),
          ),
        )
        .get();
    },

    addMessage(m: typeof socialMessages.$inferInsert): void {
      db.insert(socialMessages).values(m).run();
    },
    message(id: string) {
      return db.select().from(socialMessages).where(eq(socialMessages.id, id)).get();
    },
    /** Delivered messages since `since`: sent by `from` (`replies`: only answers), or received by `to`. */
    sentSince(from: string, since: number, replies = false): number {
      return (
        db
          .select({ n: count() })
          .from(socialMessages)
          .where(
            and(
              eq(socialMessages.fromHandle, from),
              gte(socialMessages.sentAt, since),
              eq(socialMessages.delivered, true),
              replies ? not(isNull(socialMessages.inReplyTo)) : undefined,
            ),
          )
          .get()?.n ?? 0
      );
    },
    receivedSince(to: string, since: number): number {
      return (
        db
          .select({ n: count() })
          .from(socialMessages)
          .where(
            and(
              eq(socialMessages.toHandle, to),
              gte(socialMessages.sentAt, since),
              eq(socialMessages.delivered, true),
            ),
          )
          .get()?.n ?? 0
      );
    },

    /** A destroyed instance leaves nothing of itself in the directory or the feed. */
    forget(handle: string): void {
      db.transaction((tx) => {
        tx.delete(socialProfiles).where(eq(socialProfiles.handle, handle)).run();
        tx.delete(socialSettings).where(eq(socialSettings.handle, handle)).run();
        tx.delete(socialBlocks).where(eq(socialBlocks.owner, handle)).run();
        tx.delete(socialEvents)
          .where(or(eq(socialEvents.handle, handle), eq(socialEvents.withHandle, handle)))
          .run();
      });
    },
  };
}

export type SocialStore = ReturnType<typeof createSocialStore>;
