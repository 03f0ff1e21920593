import { z } from 'zod';

/**
 * The instance pass: what a browser shows an instance to prove it is its owner's (or an admin's).
 * The platform signs it at the bridge with a key only it and that instance know
 * (`instancePassKey`), bound to the instance's host; the gateway verifies it itself, so the edge
 * can route straight to the instance. Short-lived: when it runs out the gateway sends the browser
 * through the platform again (`INSTANCE_REFRESH_PATH`), which re-checks the session. An hour: a
 * revocation reaches the instance by a push at once (the expiry only bounds one that was missed),
 * and a shorter pass would reload the shell in the middle of its owner's work more often.
 */
export const INSTANCE_PASS_TTL_S = 60 * 60;
export const INSTANCE_PASS_ISSUER = 'matrixos-platform';

/** Host-only under TLS (`__Host-`): Secure, Path=/, no Domain, so no other tenant's host sees it. */
export const instancePassCookie = (secure: boolean): string => (secure ? '__Host-mx_pass' : 'mx_pass');
export const INSTANCE_PASS_COOKIES: readonly string[] = [instancePassCookie(false), instancePassCookie(true)];

/**
 * On an instance's host, answered by the platform (the edge never routes it to the instance):
 * `?next=/path` sends the browser through the control plane for a new pass, then back to `/path`.
 */
export const INSTANCE_REFRESH_PATH = '/.well-known/matrixos/refresh';

export const instancePassClaims = z.object({
  iss: z.literal(INSTANCE_PASS_ISSUER),
  /** The instance's host as the browser sees it (`alice.example.com`, with a port when not 443/80). */
  aud: z.string().min(1),
  /** The user the pass speaks for. */
  sub: z.string().min(1),
  /** The instance session (a revocation names it; never a secret on its own). */
  sid: z.string().min(1).max(128),
  role: z.enum(['user', 'admin']),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type InstancePassClaims = z.infer<typeof instancePassClaims>;

/** A local path to return to after a refresh: `/x?y`, never `//host` or `/\host`. */
export function safeReturnPath(value: string | null | undefined): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/';
  if (value.length > 2048 || [...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    return '/';
  return value;
}
