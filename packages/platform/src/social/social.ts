import type { Logger } from '@matrixos/shared';
import type { InstanceAccess } from '../accounts/instanceAccess.ts';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import {
  type FeedEvent,
  type ProfilePublish,
  type SendBody,
  type SendReply,
  type SettingsChange,
  SOCIAL_INBOX_PATH,
  SOCIAL_LIMITS,
  SOCIAL_MAX_BLOCKS,
  type SocialDelivery,
  type SocialSettings,
} from '../api/contract/social.ts';
import type { SocialEventRow } from '../db/schema.ts';
import { postToInstance } from '../instances/postToInstance.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { Activity } from '../lifecycle/activity.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { isOnline } from './isOnline.ts';
import { newMessageId } from './newMessageId.ts';
import { SocialError } from './socialError.ts';
import type { SocialStore } from './socialStore.ts';

export interface SocialDeps {
  store: SocialStore;
  instances: InstanceStore;
  activity: Activity;
  lifecycle: Pick<Lifecycle, 'wake'>;
  access: Pick<InstanceAccess, 'instanceToken'>;
  limiter: RateLimiter;
  log: Logger;
  clock?: () => number;
}

const DAY_MS = 24 * 3_600_000;
/** One feed line per pair of AIs per hour, however many messages they exchange. */
const CONVERSATION_COALESCE_MS = 3_600_000;
/** A feed page skips hidden events; it looks at this many rows at most before answering. */
const FEED_SCAN_MAX = 2_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The social half of the platform (docs/social.md): the directory and profiles as instances last
 * published them, the feed, each owner's settings and blocks, and messages between instances.
 * `viewer` is whoever asks (a session's handle or a token's instance); nothing here wakes an
 * instance except delivering a message to it.
 */
export function createSocial(deps: SocialDeps) {
  const { store, instances } = deps;
  const clock = deps.clock ?? Date.now;

  function online(handle: string, now = clock()): boolean {
    const row = instances.get(handle);
    return isOnline(row?.state, deps.activity.lastSeen(handle) ?? row?.lastActiveAt, now);
  }

  /** A user others may see: an instance that exists and did not opt out (the viewer sees itself). */
  function visible(viewer: string | null, handle: string): boolean {
    if (!instances.get(handle)) return false;
    return handle === viewer || store.settings(handle).discoverable;
  }

  function displayNameOf(handle: string): string {
    return store.profile(handle)?.displayName ?? handle;
  }

  function toEvent(row: SocialEventRow): FeedEvent {
    const base = { id: String(row.seq), handle: row.handle, at: iso(row.at) };
    switch (row.kind) {
      case 'app_shared':
        return { ...base, kind: 'app_shared', app: { name: row.appName ?? '', title: row.appTitle } };
      case 'ai_conversation':
        return { ...base, kind: 'ai_conversation', with: row.withHandle ?? '' };
      default:
        return { ...base, kind: row.kind };
    }
  }

  /** Two AIs talked (here or over Matrix): one feed line per pair per hour, never the content. */
  function conversation(from: string, to: string): void {
    if (store.conversedSince(from, to, clock() - CONVERSATION_COALESCE_MS)) return;
    store.record({ kind: 'ai_conversation', handle: from, withHandle: to });
  }

  function settingsOf(handle: string): SocialSettings {
    return { ...store.settings(handle), blocks: store.blocks(handle) };
  }

  return {
    online,

    users(viewer: string | null, page: { cursor?: string; limit: number }) {
      let after: { at: number; handle: string } | null = null;
      if (page.cursor) {
        const parts = decodeCursor(page.cursor, 2);
        if (!parts || !Number.isFinite(Number(parts[0])))
          throw new SocialError('invalid_cursor', 'cursor is not one this API gave');
        after = { at: Number(parts[0]), handle: parts[1]! };
      }
      const hidden = store.hidden();
      const now = clock();
      const rows = instances
        .list()
        .filter((r) => r.handle === viewer || !hidden.has(r.handle))
        .sort((a, b) => b.createdAt - a.createdAt || (a.handle < b.handle ? 1 : -1))
        .filter(
          (r) => !after || r.createdAt < after.at || (r.createdAt === after.at && r.handle < after.handle),
        );
      const pageRows = rows.slice(0, page.limit);
      const last = pageRows.at(-1);
      return {
        users: pageRows.map((r) => {
          const profile = store.profile(r.handle);
          return {
            handle: r.handle,
            displayName: profile?.displayName ?? r.handle,
            avatar: profile?.avatar ?? null,
            online: isOnline(r.state, deps.activity.lastSeen(r.handle) ?? r.lastActiveAt, now),
            joinedAt: iso(r.createdAt),
          };
        }),
        nextCursor: rows.length > page.limit && last ? encodeCursor([last.createdAt, last.handle]) : null,
      };
    },

    profile(viewer: string | null, handle: string) {
      if (!visible(viewer, handle)) throw new SocialError('not_found', `no user "${handle}" here`);
      const p = store.profile(handle);
      return {
        handle,
        displayName: p?.displayName ?? handle,
        avatar: p?.avatar ?? null,
        online: online(handle),
        markdown: p?.profileMd ?? null,
        publishedAt: p ? iso(p.publishedAt) : null,
      };
    },

    aiProfile(viewer: string | null, handle: string) {
      if (!visible(viewer, handle)) throw new SocialError('not_found', `no user "${handle}" here`);
      const p = store.profile(handle);
      return { handle, markdown: p?.aiProfileMd ?? null, publishedAt: p ? iso(p.publishedAt) : null };
    },

    feed(viewer: string | null, page: { cursor?: string; limit: number }) {
      let before: number | null = null;
      if (page.cursor) {
        const parts = decodeCursor(page.cursor, 1);
        if (!parts || !/^\d+$/.test(parts[0]!))
          throw new SocialError('invalid_cursor', 'cursor is not one this API gave');
        before = Number(parts[0]);
      }
      const hidden = store.hidden();
      const noApps = store.notSharingApps();
      const blocked = new Set(viewer ? store.blocks(viewer) : []);
      const shows = (h: string | null) => h === null || ((h === viewer || !hidden.has(h)) && !blocked.has(h));
      const events: FeedEvent[] = [];
      let scanned = 0;
      let cursorSeq: number | null = before;
      let exhausted = false;
      while (events.length < page.limit && scanned < FEED_SCAN_MAX) {
        const rows = store.events(cursorSeq, 200);
        if (rows.length === 0) {
          exhausted = true;
          break;
        }
        for (const row of rows) {
          scanned++;
          cursorSeq = row.seq;
          if (!shows(row.handle) || !shows(row.withHandle)) continue;
          if (row.kind === 'app_shared' && noApps.has(row.handle)) continue;
          events.push(toEvent(row));
          if (events.length === page.limit) break;
        }
      }
      const more = !exhausted && cursorSeq !== null && store.events(cursorSeq, 1).length > 0;
      return { events, nextCursor: more && cursorSeq !== null ? encodeCursor([cursorSeq]) : null };
    },

    /** For the landing page: how many, never who. */
    counts() {
      const now = clock();
      const rows = instances.list();
      return { users: rows.length, online: rows.filter((r) => online(r.handle, now)).length };
    },

    /** An instance published what changed; the feed hears of a real change only (boots republish). */
    publish(handle: string, body: ProfilePublish) {
      const before = store.profile(handle);
      const next = {
        handle,
        displayName: body.displayName ?? before?.displayName ?? null,
        avatar: body.avatar === undefined ? (before?.avatar ?? null) : body.avatar,
        profileMd: body.profile ?? before?.profileMd ?? null,
        aiProfileMd: body.aiProfile ?? before?.aiProfileMd ?? null,
      };
      const changed =
        !before ||
        before.displayName !== next.displayName ||
        before.avatar !== next.avatar ||
        before.profileMd !== next.profileMd ||
        before.aiProfileMd !== next.aiProfileMd;
      const publishedAt = changed ? clock() : before.publishedAt;
      if (changed) {
        store.putProfile({ ...next, publishedAt });
        store.record({ kind: 'profile_updated', handle });
      }
      return { handle, changed, publishedAt: iso(publishedAt) };
    },

    appShared(handle: string, app: { name: string; title?: string }) {
      if (!store.settings(handle).shareApps) return { recorded: false };
      store.record({ kind: 'app_shared', handle, appName: app.name, appTitle: app.title ?? null });
      return { recorded: true };
    },

    signedUp(handle: string): void {
      store.record({ kind: 'signup', handle });
    },

    conversation,

    settings: settingsOf,
    changeSettings(handle: string, change: SettingsChange): SocialSettings {
      store.putSettings(handle, { ...store.settings(handle), ...change });
      return settingsOf(handle);
    },
    block(owner: string, handle: string): SocialSettings {
      if (owner === handle) throw new SocialError('self', 'you cannot block yourself');
      const current = store.blocks(owner);
      if (!current.includes(handle) && current.length >= SOCIAL_MAX_BLOCKS)
        throw new SocialError('too_many_blocks', `at most ${SOCIAL_MAX_BLOCKS} blocks`);
      store.block(owner, handle);
      return settingsOf(owner);
    },
    unblock(owner: string, handle: string): SocialSettings {
      store.unblock(owner, handle);
      return settingsOf(owner);
    },

    /**
     * A message from `from` (the caller's token, never the body) into `to`'s inbox, waking it.
     * Each refusal names the sender's problem only; nothing about the recipient beyond "no
     * such user" or "blocked" (which the sender would notice anyway by never being answered).
     */
    async send(from: string, to: string, body: SendBody): Promise<SendReply> {
      // Every attempt counts, refused ones too: probing for who exists costs the same.
      const hit = deps.limiter.hit(`social-send:${from}`, SOCIAL_LIMITS.sendsPerMinute, 60_000);
      if (!hit.ok) throw new SocialError('rate_limited', 'too many messages; slow down', hit.retryAfterMs);
      if (body.text.length > SOCIAL_LIMITS.textChars)
        throw new SocialError('too_large', `text must be at most ${SOCIAL_LIMITS.textChars} characters`);
      if (from === to) throw new SocialError('self', 'an instance cannot message itself');
      const recipient = instances.get(to);
      if (!recipient || recipient.state === 'provisioning')
        throw new SocialError('unknown_recipient', `no user "${to}" to message`);
      if (store.isBlocked(to, from)) throw new SocialError('blocked', `"${to}" does not take your messages`);
      const now = clock();
      if (body.inReplyTo) {
        const original = store.message(body.inReplyTo);
        if (!original || original.fromHandle !== to || original.toHandle !== from)
          throw new SocialError('invalid_reply', `inReplyTo is not a message "${to}" sent you`);
        const cap = store.settings(from).dailyAutoReplyCap;
        if (store.sentSince(from, now - DAY_MS, true) >= cap)
          throw new SocialError('rate_limited', `your daily cap of ${cap} replies is reached`, DAY_MS);
      }
      if (store.sentSince(from, now - DAY_MS) >= SOCIAL_LIMITS.sendsPerDay)
        throw new SocialError('rate_limited', `at most ${SOCIAL_LIMITS.sendsPerDay} messages a day`, DAY_MS);
      if (store.receivedSince(to, now - DAY_MS) >= SOCIAL_LIMITS.receivesPerDay)
        throw new SocialError('recipient_cap', `"${to}" takes no more messages today`, DAY_MS);
      const token = deps.access.instanceToken(to);
      if (!token) throw new SocialError('unknown_recipient', `no user "${to}" to message`);

      const id = newMessageId(now);
      const settings = store.settings(to);
      const delivery: SocialDelivery = {
        id,
        from,
        fromDisplayName: displayNameOf(from),
        to,
        text: body.text,
        sentAt: iso(now),
        inReplyTo: body.inReplyTo ?? null,
        recipient: { autoReply: settings.autoReply, dailyAutoReplyCap: settings.dailyAutoReplyCap },
      };
      let status = 0;
      try {
        const res = await postToInstance(deps.lifecycle, {
          handle: to,
          token,
          path: SOCIAL_INBOX_PATH,
          body: delivery,
        });
        status = res.status;
        await res.body?.cancel();
      } catch (err) {
        deps.log.warn({ from, to, err: (err as Error).message }, 'social: delivery failed');
      }
      if (status < 200 || status >= 300) {
        if (status) deps.log.warn({ from, to, status }, 'social: the recipient did not take a delivery');
        throw new SocialError(
          'undeliverable',
          `"${to}" could not take the message now; try again later`,
          30_000,
        );
      }
      // Recorded once it is in the inbox: limits count deliveries, and only these can be answered.
      store.addMessage({
        id,
        fromHandle: from,
        toHandle: to,
        inReplyTo: delivery.inReplyTo,
        sentAt: now,
        delivered: true,
      });
      if (!body.inReplyTo) conversation(from, to);
      deps.log.info({ from, to, id }, 'social: delivered');
      return { status: 'delivered', id, from, to, deliveredAt: iso(clock()) };
    },

    forget: store.forget,
  };
}

export type Social = ReturnType<typeof createSocial>;
