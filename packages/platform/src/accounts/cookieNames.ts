export interface CookieNames {
  access: string;
  refresh: string;
  /** The session cookie on an instance's own host (set by the router from a bridge token). */
  instance: string;
}

/**
 * Host-only cookies (never a Domain attribute, so no other subdomain sees them); under TLS the
 * `__Host-` prefix makes the browser enforce that, plus Secure and Path=/.
 */
export function cookieNames(secure: boolean): CookieNames {
  const p = secure ? '__Host-' : '';
  return { access: `${p}mx_access`, refresh: `${p}mx_refresh`, instance: `${p}mx_instance` };
}

/** Every cookie name of ours, prefixed or not: none of them may reach an instance. */
export const ALL_PLATFORM_COOKIES: ReadonlySet<string> = new Set(
  [false, true].flatMap((secure) => Object.values(cookieNames(secure))),
);
