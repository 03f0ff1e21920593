import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProfilePublish, SOCIAL_LIMITS } from '@matrixos/platform/social';
import type { Logger } from '@matrixos/shared';
import type { EventBus } from '../events/bus.ts';
import { homePaths } from '../home/layout.ts';
import type { SocialClient } from './socialClient.ts';

/** The files whose change means a new publish (home-relative, as `files.changed` names them). */
const AVATARS = [
  ['system/avatar.png', 'image/png'],
  ['system/avatar.jpg', 'image/jpeg'],
  ['system/avatar.webp', 'image/webp'],
] as const;
const WATCHED = new Set(['system/profile.md', 'system/ai-profile.md', ...AVATARS.map(([p]) => p)]);
/** Several saves in a row (an editor, the AI rewriting both files) become one publish. */
const SETTLE_MS = 500;

/**
 * Publishes `~/system/profile.md`, `ai-profile.md`, the display name (the profile's first `# `
 * heading) and the avatar (`system/avatar.{png,jpg,webp}`, when small enough) to the platform:
 * everything on boot, then only what changed, whenever one of those files changes. The platform
 * keeps the copy, so reading a profile never wakes this instance.
 */
export function createProfilePublisher(deps: {
  home: string;
  client: SocialClient;
  bus: EventBus;
  log: Logger;
}) {
  let last: Record<string, unknown> = {};
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | null = null;

  async function current(): Promise<ProfilePublish & Record<string, unknown>> {
    const paths = homePaths(deps.home);
    const read = (file: string) => readFile(file, 'utf8').catch(() => '');
    const [profile, aiProfile] = await Promise.all([read(paths.profile), read(paths.aiProfile)]);
    const heading = /^#\s+(.+)$/m.exec(profile)?.[1]?.trim();
    return {
      profile: profile.slice(0, SOCIAL_LIMITS.profileChars),
      aiProfile: aiProfile.slice(0, SOCIAL_LIMITS.aiProfileChars),
      ...(heading ? { displayName: heading.slice(0, SOCIAL_LIMITS.displayNameChars) } : {}),
      avatar: await avatar(deps.home),
    };
  }

  async function publish(): Promise<void> {
    const now = await current();
    const changed = Object.fromEntries(
      Object.entries(now).filter(([k, v]) => JSON.stringify(last[k]) !== JSON.stringify(v)),
    );
    if (!Object.keys(changed).length) return;
    try {
      await deps.client.publish(changed as ProfilePublish);
      last = { ...last, ...changed };
      deps.log.info({ fields: Object.keys(changed) }, 'social: profile published');
    } catch (err) {
      // Kept unpublished: the next change (or boot) sends it again.
      deps.log.warn({ err: (err as Error).message }, 'social: could not publish the profile');
    }
  }

  const queue = () => {
    running = running.then(publish);
    return running;
  };

  return {
    /** Publishes everything now, then watches. Resolves after the first publish was tried. */
    start(): Promise<void> {
      unsubscribe ??= deps.bus.subscribe((event) => {
        if (event.type !== 'files.changed' || !WATCHED.has(event.path)) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          void queue();
        }, SETTLE_MS);
      });
      return queue();
    },
    /** Waits for a publish in progress (tests, shutdown). */
    settled: () => running,
    stop() {
      unsubscribe?.();
      unsubscribe = null;
      if (timer) clearTimeout(timer);
    },
  };
}
export type ProfilePublisher = ReturnType<typeof createProfilePublisher>;

/** The avatar as a data URL, or null (none, or too large for the platform to take). */
async function avatar(home: string): Promise<string | null> {
  for (const [path, type] of AVATARS) {
    const bytes = await readFile(join(home, path)).catch(() => null);
    if (!bytes) continue;
    const url = `data:${type};base64,${bytes.toString('base64')}`;
    return url.length <= SOCIAL_LIMITS.avatarChars ? url : null;
  }
  return null;
}
