import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@matrixos/shared';
import type { Endpoint } from '../runtime/driver.ts';
import type { EdgeRoutes } from './edgeRoutes.ts';

/** The edge is on this host or network and answers in a millisecond; a second means it is not there. */
const TIMEOUT_MS = 1500;
const WITHDRAW_ATTEMPTS = 3;

/** The routes of the nginx edge (deploy/edge), over its admin API. */
export function createNginxEdgeRoutes(deps: {
  adminUrl: string;
  secret: string;
  log: Logger;
  /** Pause before the n-th retry of a withdrawal: n × this (default 200 ms). */
  retryMs?: number;
}): EdgeRoutes {
  const { log } = deps;

  async function call(method: 'PUT' | 'DELETE', path: string, body?: string): Promise<void> {
    const res = await fetch(new URL(path, deps.adminUrl), {
      method,
      headers: { authorization: `Bearer ${deps.secret}`, 'content-type': 'text/plain' },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`edge answered ${method} ${path} with ${res.status}: ${text}`);
  }

  return {
    async publish(handle, endpoint) {
      try {
        await call('PUT', `/routes/${encodeURIComponent(handle)}`, await address(endpoint));
      } catch (err) {
        log.warn({ err, handle }, 'edge: could not publish the route (requests go through the platform)');
      }
    },

    async withdraw(handle) {
      for (let attempt = 1; ; attempt++) {
        try {
          await call('DELETE', `/routes/${encodeURIComponent(handle)}`);
          return;
        } catch (err) {
          if (attempt === WITHDRAW_ATTEMPTS) {
            // Requests to a paused instance would now hang at the edge until it runs again.
            log.error({ err, handle }, 'edge: could not withdraw the route');
            return;
          }
          await sleep(attempt * (deps.retryMs ?? 200));
        }
      }
    },

    async replaceAll(routes) {
      const all: Record<string, string> = {};
      for (const [handle, endpoint] of routes) all[handle] = await address(endpoint);
      await call('PUT', '/routes', JSON.stringify(all));
    },
  };
}

/** `ip:port` or `[ipv6]:port`: the edge connects without resolving, so a name is resolved here. */
async function address({ host, port }: Endpoint): Promise<string> {
  const ip = net.isIP(host) ? host : (await lookup(host)).address;
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}
