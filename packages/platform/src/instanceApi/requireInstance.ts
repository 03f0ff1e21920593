import { createHash } from 'node:crypto';
import { bearerToken, HttpError, type Sealer, safeEqual } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';
import type { InstanceStore } from '../instances/store.ts';
import { authContext } from '../orchestrator/orchestrator.ts';

export type InstanceEnv = { Variables: { instance: string } };

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
/** A miss rebuilds the index at most this often, so random tokens cannot make every request open every row. */
const REBUILD_EVERY_MS = 1_000;

/**
 * Who is calling, from the instance's own API token (`Authorization: Bearer`), never from a
 * header or body field: the caller is the instance whose token this is. Tokens are found by
 * their SHA-256 (256 random bits: a hash lookup leaks nothing useful) and then compared in
 * constant time with the row's own token, which is re-read so a destroyed instance's token stops
 * working at once.
 */
export function requireInstance(deps: {
  store: InstanceStore;
  sealer: Sealer;
  clock?: () => number;
}): MiddlewareHandler<InstanceEnv> {
  const clock = deps.clock ?? Date.now;
  let index = new Map<string, string>();
  let builtAt = -Infinity;

  function rebuild(): void {
    const next = new Map<string, string>();
    for (const row of deps.store.list()) {
      try {
        next.set(digest(deps.sealer.open(row.authTokenSealed, authContext(row.handle))), row.handle);
      } catch {
        // A row whose token does not open cannot be anyone.
      }
    }
    index = next;
    builtAt = clock();
  }

  function identify(token: string): string | null {
    const d = digest(token);
    let handle = index.get(d);
    if (!handle && clock() - builtAt >= REBUILD_EVERY_MS) {
      rebuild();
      handle = index.get(d);
    }
    if (!handle) return null;
    const row = deps.store.get(handle);
    if (!row) return null;
    try {
      return safeEqual(deps.sealer.open(row.authTokenSealed, authContext(handle)), token) ? handle : null;
    } catch {
      return null;
    }
  }

  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    const handle = token ? identify(token) : null;
    if (!handle)
      throw new HttpError(
        401,
        'unauthorized',
        'send the instance token: Authorization: Bearer <token>',
        undefined,
        {
          'WWW-Authenticate': 'Bearer realm="matrixos-instance"',
        },
      );
    c.set('instance', handle);
    await next();
  };
}
