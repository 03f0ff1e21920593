import { type Logger, REVOCATIONS_PATH, type Revocations } from '@matrixos/shared';
import type { InstanceAccess } from '../accounts/instanceAccess.ts';
import type { SessionEvents } from '../accounts/sessions.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';

const CHUNK = 1000; // revocationsBody's bound
const TIMEOUT_MS = 3000;

/**
 * Tells instances which of their sessions are over (sign-out everywhere, a revoked session, a
 * demotion), so their gateways refuse those passes and close those sockets at once, whichever way
 * the requests come (router or native edge). Only running instances are told now; one that sleeps
 * has no sockets, and is told before it gets its route again (`beforeRoute`), as its gateway
 * forgets what it was told when it stops.
 */
export function createRevocationPush(deps: {
  access: InstanceAccess;
  orchestrator: Pick<Orchestrator, 'route'>;
  sessionEvents: SessionEvents;
  log: Logger;
}) {
  const { access, orchestrator, log } = deps;

  async function send(handle: string, sids: string[]): Promise<void> {
    const route = orchestrator.route(handle);
    const token = access.instanceToken(handle);
    if (route?.state !== 'running' || !route.endpoint || !token) return;
    for (let i = 0; i < sids.length; i += CHUNK) {
      const body: Revocations = { sessions: sids.slice(i, i + CHUNK) };
      try {
        const res = await fetch(`http://${route.endpoint.host}:${route.endpoint.port}${REVOCATIONS_PATH}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (!res.ok) log.warn({ handle, status: res.status }, 'the instance refused a revocation');
      } catch (err) {
        log.warn({ handle, err: (err as Error).message }, 'could not tell the instance of a revocation');
      }
    }
  }

  function sendAll(rows: { sid: string; handle: string }[]): Promise<void> {
    const byHandle = new Map<string, string[]>();
    for (const r of rows) byHandle.set(r.handle, [...(byHandle.get(r.handle) ?? []), r.sid]);
    return Promise.all([...byHandle].map(([handle, sids]) => send(handle, sids))).then(() => undefined);
  }

  /** Live sessions that no longer hold (the family revoked, or the user may not view it any more). */
  const ended = (rows: { sid: string; handle: string }[]) =>
    rows.filter((r) => !access.viewer(r.sid, r.handle));

  const onRevoked = ({ familyId }: { familyId: string }) => void sendAll(access.liveSessions({ familyId }));
  const onChanged = ({ userId }: { userId: string }) => void sendAll(ended(access.liveSessions({ userId })));
  deps.sessionEvents.on('revoked', onRevoked);
  deps.sessionEvents.on('changed', onChanged);

  return {
    /** Before a woken instance gets its route: the sessions that ended while it slept. */
    beforeRoute: (handle: string): Promise<void> => sendAll(ended(access.liveSessions({ handle }))),
    close(): void {
      deps.sessionEvents.off('revoked', onRevoked);
      deps.sessionEvents.off('changed', onChanged);
    },
  };
}
