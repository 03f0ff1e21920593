import { instancePassCookie } from '@matrixos/shared';

export interface CookieNames {
  access: string;
  refresh: string;
  /**
   * The instance pass on an instance's own host (set at the bridge): the one cookie of ours an
   * instance receives, since its gateway verifies it (`@matrixos/shared` instancePass).
   */
  instance: string;
}

/**
 * Host-only cookies (never a Domain attribute, so no other subdomain sees them); under TLS the
 * `__Host-` prefix makes the browser enforce that, plus Secure and Path=/.
 */
export function cookieNames(secure: boolean): CookieNames {
  const p = secure ? '__Host-' : '';
  return { access: `${p}mx_access`, refresh: `${p}mx_refresh`, instance: instancePassCookie(secure) };
}

/**
 * Every cookie name of ours, prefixed or not: none of them may be set by an instance, and none
 * but the pass reaches one.
 */
export const ALL_PLATFORM_COOKIES: ReadonlySet<string> = new Set(
  [false, true].flatMap((secure) => Object.values(cookieNames(secure))),
);
