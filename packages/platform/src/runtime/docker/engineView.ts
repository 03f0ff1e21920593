import type { RuntimeInstance, RuntimeState } from '../driver.ts';

/** What the view learns from one engine event (or from the driver's own create and remove). */
export interface ViewChange {
  id: string;
  handle: string;
  state: RuntimeState | 'removed';
}

/**
 * This platform's containers as the engine last said: one listing, then kept by the engine's
 * event stream, so a sweep's reconcile does not make the engine describe every container again
 * (that listing took 1.8 s at 400 containers, 2.4 s at 658, on a loaded 2-core host: the engine
 * locks each container to describe it). Trusted only while the stream is up and no event arrived
 * while the listing that primed it was in flight; otherwise `snapshot` is null and the caller
 * lists the engine (and primes the view again).
 */
export function createEngineView() {
  const byId = new Map<string, RuntimeInstance>();
  let live = false;
  let streamUp = false;
  /** Counts changes: a listing that a change raced may be older than the change. */
  let changes = 0;

  return {
    /** Every container, or null when the view cannot be trusted right now. */
    snapshot(): RuntimeInstance[] | null {
      return live ? [...byId.values()] : null;
    },
    /** Call before listing the engine; hand the result to `prime` with the listing. */
    begin(): number {
      return changes;
    },
    prime(token: number, listed: RuntimeInstance[]): void {
      if (!streamUp || token !== changes) return;
      byId.clear();
      for (const rt of listed) byId.set(rt.id, rt);
      live = true;
    },
    apply(change: ViewChange): void {
      changes++;
      if (change.state === 'removed') {
        byId.delete(change.id);
        return;
      }
      const before = byId.get(change.id);
      // A start gets a new address (unknown until inspected: null makes reconcile inspect it);
      // pause and unpause keep the one it had; a stopped container has none.
      const endpoint =
        change.state === 'stopped' || (change.state === 'running' && before?.state !== 'paused')
          ? null
          : (before?.endpoint ?? null);
      byId.set(change.id, { id: change.id, handle: change.handle, state: change.state, endpoint });
    },
    /** An inspect's fresh address for a container the view already has in that state. */
    learn(rt: RuntimeInstance): void {
      const known = byId.get(rt.id);
      if (known && known.state === rt.state && !known.endpoint) byId.set(rt.id, rt);
    },
    /** The event stream is followed (true) or broke (false: events may be missed until primed again). */
    stream(up: boolean): void {
      streamUp = up;
      changes++;
      if (!up) live = false;
    },
  };
}

export type EngineView = ReturnType<typeof createEngineView>;
