import { readFileSync } from 'node:fs';
import net from 'node:net';
import { RESERVED_HANDLES } from '@matrixos/shared';
import type { Endpoint } from '../runtime/driver.ts';

const TEMPLATE = new URL('../../../../deploy/edge/nginx.conf.template', import.meta.url);

export interface NginxEdgeConfig {
  /** Instances answer on `{handle}.{domain}`. */
  domain: string;
  /** The platform's router, as an IP address: the balancer's fallback connects without resolving. */
  platform: Endpoint;
  listen: { host: string; port: number };
  /** A wildcard certificate for `*.{domain}` that also names `{domain}`, and its key; plain HTTP without. */
  tls?: { cert: string; key: string };
  admin: { host: string; port: number };
  workers: number | 'auto';
  /** `load_module` paths (findNginx), in order. */
  modules: readonly string[];
}

/** deploy/edge/nginx.conf.template with every `${EDGE_*}` filled in. */
export function renderNginxEdgeConfig(
  config: NginxEdgeConfig,
  template = readFileSync(TEMPLATE, 'utf8'),
): string {
  const domain = config.domain.toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain))
    throw new Error(`edge: "${config.domain}" is not a domain name`);
  if (!net.isIP(config.platform.host))
    throw new Error(`edge: the platform's address must be an IP address, not "${config.platform.host}"`);
  const workers = config.workers;
  if (workers !== 'auto' && !(Number.isInteger(workers) && workers > 0))
    throw new Error(`edge: workers must be a positive integer or "auto", not ${workers}`);
  const tls = config.tls
    ? [
        `ssl_certificate ${filePath(config.tls.cert)};`,
        `ssl_certificate_key ${filePath(config.tls.key)};`,
        'ssl_protocols TLSv1.2 TLSv1.3;',
        'ssl_session_cache shared:edge_tls:10m;',
        'ssl_session_timeout 1h;',
      ].join('\n  ')
    : '';
  const values: Record<string, string> = {
    EDGE_LOAD_MODULES: config.modules.map((m) => `load_module ${filePath(m)};`).join('\n'),
    EDGE_WORKERS: String(workers),
    EDGE_PLATFORM: hostPort(config.platform.host, config.platform.port),
    EDGE_RESERVED_HANDLES: [...RESERVED_HANDLES].join(' '),
    EDGE_TLS: tls,
    // h2 for browsers under TLS; WebSockets still open over HTTP/1.1 (nginx offers no RFC 8441).
    EDGE_LISTEN: `${hostPort(config.listen.host, config.listen.port)}${config.tls ? ' ssl http2' : ''}`,
    EDGE_DOMAIN_RE: domain.replaceAll('.', '\\.'),
    EDGE_ADMIN_LISTEN: hostPort(config.admin.host, config.admin.port),
  };
  return template.replace(/\$\{(EDGE_[A-Z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`edge: the template names ${name}, which nothing fills in`);
    return value;
  });
}

function hostPort(host: string, port: number): string {
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`edge: ${port} is not a port`);
  if (net.isIPv6(host)) return `[${host}]:${port}`;
  if (net.isIPv4(host) || /^[a-z0-9.-]+$/i.test(host)) return `${host}:${port}`;
  throw new Error(`edge: "${host}" is not a host`);
}

/** A path nginx reads as it is: no quoting, no `$` (a variable would load the file on every handshake). */
function filePath(p: string): string {
  if (!/^\/[^\s"'$;{}\\#]+$/.test(p))
    throw new Error(`edge: "${p}" is not an absolute path nginx can take as it is`);
  return p;
}
