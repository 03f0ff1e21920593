import type http from 'node:http';
import { cookieNames } from '../accounts/cookieNames.ts';

/** The platform's cookie names without any prefix (`mx_access`, ...), lower-cased. */
const PLATFORM_BASE_NAMES: ReadonlySet<string> = new Set(
  Object.values(cookieNames(false)).map((n) => n.toLowerCase()),
);

/** `__Host-mx_access`, `__secure-MX_ACCESS`, ... → `mx_access`: a browser treats them all as ours to fear. */
function baseName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^__(host|secure)-/, '');
}

/**
 * Whether a `Set-Cookie` an instance sent may reach the browser. Never a platform cookie's name
 * (an instance could overwrite or shadow the control plane's session), never a `Domain` attribute
 * (a cookie for `{domain}` would be sent to the control plane and every other tenant).
 */
export function allowInstanceCookie(setCookie: string): boolean {
  const [pair = '', ...attributes] = setCookie.split(';');
  const eq = pair.indexOf('=');
  // A cookie without a name (`=value`, or just `value`) is stored under the empty name.
  const name = eq === -1 ? '' : pair.slice(0, eq);
  if (PLATFORM_BASE_NAMES.has(baseName(name))) return false;
  return !attributes.some((a) => a.split('=')[0]?.trim().toLowerCase() === 'domain');
}

/**
 * Response headers an instance wrote, made safe for where they are shown. On the instance's own
 * host: its cookies minus the ones above, no `Clear-Site-Data` (it clears the whole site's cookies,
 * the control plane's included). On the control-plane origin (`/proxy/{handle}/`, API clients
 * with the instance token only): no cookies at all, and the bytes cannot run there
 * (`Content-Security-Policy: sandbox`, `nosniff`). Mutates and returns `headers`.
 */
export function filterResponseHeaders<H extends http.IncomingHttpHeaders | http.OutgoingHttpHeaders>(
  headers: H,
  where: 'instance-host' | 'control-plane',
): H {
  const h = headers as Record<string, unknown>;
  delete h['clear-site-data'];
  const cookies = h['set-cookie'];
  if (where === 'control-plane') {
    delete h['set-cookie'];
    for (const name of ['content-security-policy', 'content-security-policy-report-only', 'refresh'])
      delete h[name];
    h['content-security-policy'] = 'sandbox';
    h['x-content-type-options'] = 'nosniff';
    h['cross-origin-resource-policy'] = 'same-origin';
    return headers;
  }
  if (cookies !== undefined) {
    const kept = (Array.isArray(cookies) ? cookies : [String(cookies)]).filter(allowInstanceCookie);
    if (kept.length) h['set-cookie'] = kept;
    else delete h['set-cookie'];
  }
  return headers;
}
