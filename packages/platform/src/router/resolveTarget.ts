import { validateHandle } from '@matrixos/shared';

/** A request meant for an instance: whose, and the path the instance should see. */
export interface Target {
  handle: string;
  /** The path and query to forward (the `/proxy/:handle` prefix removed). */
  url: string;
  /** `/proxy/{handle}` for path-based requests, '' for `{handle}.{domain}` ones. */
  prefix: string;
  /**
   * Where to send `/proxy/{handle}` (no slash): relative URLs in the instance's pages only work
   * under `/proxy/{handle}/`.
   */
  redirect?: string;
}

/**
 * Host-based (`{handle}.{domain}`) first, then the path-based fallback `/proxy/{handle}/...`
 * on any other host. Anything that is not a valid handle is not a target (the control plane
 * answers it). Pure string work: this runs on every request.
 */
export function resolveTarget(host: string | undefined, url: string, domain: string): Target | null {
  if (host) {
    const colon = host.lastIndexOf(':');
    const name = (colon > host.lastIndexOf(']') ? host.slice(0, colon) : host).toLowerCase();
    const suffix = `.${domain}`;
    if (name.endsWith(suffix)) {
      const label = name.slice(0, -suffix.length);
      if (!label.includes('.') && validateHandle(label).ok) return { handle: label, url, prefix: '' };
      return null;
    }
  }
  if (url.startsWith('/proxy/')) {
    const rest = url.slice('/proxy/'.length);
    const end = rest.search(/[/?]/);
    const handle = end === -1 ? rest : rest.slice(0, end);
    if (!validateHandle(handle).ok) return null;
    const tail = end === -1 ? '' : rest.slice(end);
    const prefix = `/proxy/${handle}`;
    if (!tail.startsWith('/')) return { handle, url: `/${tail}`, prefix, redirect: `${prefix}/${tail}` };
    return { handle, url: tail, prefix };
  }
  return null;
}
