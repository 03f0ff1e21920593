import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A new secret: `<prefix>_<43 base64url chars>` (256 random bits). The prefix says what it
 * is for (`mxi` instance API, `mxp` LLM proxy, `mxa` admin), so a leaked token is recognisable.
 */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Constant-time comparison of two secrets; hashing first hides their lengths too. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The secret from an `Authorization: Bearer <secret>` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}
