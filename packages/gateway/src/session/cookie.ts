import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { SESSION_TTL_MS } from './store.ts';

/** Over HTTPS the `__Host-` prefix makes the browser insist on Secure, Path=/ and no Domain. */
const PLAIN_NAME = 'mx_session';
const SECURE_NAME = '__Host-mx_session';

/** The first value of a header a proxy may have appended to (`https, http`). */
const first = (value: string | undefined) => value?.split(',')[0]?.trim() || undefined;

/**
 * Whether the browser reached us over HTTPS: a TLS proxy in front (Caddy, the platform's edge)
 * says so in X-Forwarded-Proto. A client lying about it only gets a cookie its browser drops.
 */
export function isHttps(c: Context): boolean {
  return (first(c.req.header('x-forwarded-proto')) ?? new URL(c.req.url).protocol.slice(0, -1)) === 'https';
}

/** The host (and port) the browser sees this instance at: a proxy in front says it in X-Forwarded-Host. */
export function ownHost(c: Context): string {
  return (
    first(c.req.header('x-forwarded-host')) ??
    c.req.header('host') ??
    new URL(c.req.url).host
  ).toLowerCase();
}

/**
 * Whether an `Origin` header names this instance. Only the host is compared: the scheme a TLS
 * proxy forwards is not always reliable, and no other site can be served from this host anyway.
 */
export function isOwnOrigin(c: Context, origin: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === ownHost(c);
  } catch {
    return false; // `null` (sandboxed frames, privacy-sensitive contexts) and garbage
  }
}

export function sessionIdFrom(c: Context): string | null {
  return getCookie(c, SECURE_NAME) ?? getCookie(c, PLAIN_NAME) ?? null;
}

/** Host-only (no Domain), HttpOnly, SameSite=Lax; the id is random and holds no token. */
export function setSessionCookie(c: Context, id: string): void {
  const secure = isHttps(c);
  setCookie(c, secure ? SECURE_NAME : PLAIN_NAME, id, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure,
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, PLAIN_NAME, { path: '/' });
  if (isHttps(c)) deleteCookie(c, SECURE_NAME, { path: '/', secure: true });
}
