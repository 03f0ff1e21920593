import { SOCIAL_LIMITS } from '../api/contract/social.ts';

/**
 * Online: awake (running) and active within the window. Read from what the platform already
 * knows (the row's state, the router's activity), never by asking the instance: a look at the
 * directory must not wake or even touch anyone.
 */
export function isOnline(
  state: string | undefined,
  lastActiveAt: number | undefined,
  now: number,
  windowMs: number = SOCIAL_LIMITS.onlineWindowMs,
): boolean {
  return state === 'running' && lastActiveAt !== undefined && now - lastActiveAt <= windowMs;
}
