import {
  INSTANCE_PASS_TTL_S,
  type InstancePassClaims,
  instancePassKey,
  verifyInstancePass,
} from '@matrixos/shared';
import type { WebSocket } from 'ws';

// An instance sees a handful of passes at once (its owner's browsers, an admin's): the bound only
// keeps the cache from growing without end.
const CACHE_MAX = 1_000;
// The platform names at most 1,000 sessions a call, and an instance has few: far more than enough.
const REVOKED_MAX = 10_000;
// A revoked session's passes stay refused until the last one signed before the revocation has run
// out anyway (plus the verifier's clock tolerance, with room).
const REVOKED_FOR_MS = (INSTANCE_PASS_TTL_S + 60) * 1000;
// A socket that does not answer the close frame is cut after this.
const CLOSE_GRACE_MS = 1_000;

export type PassResult =
  | { ok: true; claims: InstancePassClaims }
  | { ok: false; reason: 'expired' | 'invalid' | 'revoked' };

export interface Passes {
  /** Whether `jwt` is a pass for this instance at `requestHost` (used when no host was given). */
  check(jwt: string, requestHost: string): Promise<PassResult>;
  /** Refuses these sessions' passes from now on and closes their sockets; how many it closed. */
  revoke(sids: readonly string[]): number;
  /** A WebSocket opened with a pass of `sid`: closed (1008) when that session is revoked. */
  track(sid: string, ws: WebSocket): void;
}

/**
 * The instance passes the platform signs for this instance (platform mode; see @matrixos/shared
 * instancePass): checked here, so the edge can route the owner's requests straight to the
 * instance. A verified pass is cached until its `exp`, so the hot path does not redo the HMAC and
 * the JSON for every request (about 60 µs a verification here, 0.2 µs a cache hit); the sessions the platform revokes are refused from then on, cached
 * or not, and the sockets opened with them closed at once.
 *
 * `host`: the instance's host as browsers see it (MATRIXOS_PUBLIC_URL's), the audience its passes
 * name; unset, the host each request came to.
 */
export function createPasses(opts: { token: string; host: string | undefined; now?: () => number }): Passes {
  const key = instancePassKey(opts.token);
  const now = opts.now ?? Date.now;
  const verified = new Map<string, InstancePassClaims>();
  /** sid → until when its passes are refused, oldest first (every entry lives as long). */
  const revoked = new Map<string, number>();
  const sockets = new Map<string, Set<WebSocket>>();

  function cached(jwt: string): InstancePassClaims | undefined {
    const claims = verified.get(jwt);
    if (claims && claims.exp * 1000 <= now()) {
      verified.delete(jwt);
      return undefined;
    }
    return claims;
  }

  function remember(jwt: string, claims: InstancePassClaims): void {
    if (verified.size >= CACHE_MAX) verified.delete(verified.keys().next().value!);
    verified.set(jwt, claims);
  }

  function isRevoked(sid: string): boolean {
    const until = revoked.get(sid);
    return until !== undefined && until > now();
  }

  return {
    async check(jwt, requestHost) {
      const host = opts.host ?? requestHost;
      let claims = cached(jwt);
      if (!claims) {
        const result = await verifyInstancePass(jwt, { key, host }, now());
        if (!result.ok) return result;
        claims = result.claims;
        remember(jwt, claims);
      } else if (claims.aud !== host) {
        return { ok: false, reason: 'invalid' };
      }
      return isRevoked(claims.sid) ? { ok: false, reason: 'revoked' } : { ok: true, claims };
    },

    revoke(sids) {
      for (const [sid, until] of revoked) {
        if (until > now()) break;
        revoked.delete(sid);
      }
      let closed = 0;
      for (const sid of new Set(sids)) {
        revoked.delete(sid); // to the end: it lives from now
        if (revoked.size >= REVOKED_MAX) revoked.delete(revoked.keys().next().value!);
        revoked.set(sid, now() + REVOKED_FOR_MS);
        for (const ws of sockets.get(sid) ?? []) {
          ws.close(1008, 'session revoked');
          setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
          closed++;
        }
        sockets.delete(sid);
      }
      return closed;
    },

    track(sid, ws) {
      // Revoked between its upgrade's check and now.
      if (isRevoked(sid)) return ws.close(1008, 'session revoked');
      const open = sockets.get(sid) ?? new Set<WebSocket>();
      sockets.set(sid, open);
      open.add(ws);
      ws.once('close', () => {
        open.delete(ws);
        if (open.size === 0 && sockets.get(sid) === open) sockets.delete(sid);
      });
    },
  };
}
