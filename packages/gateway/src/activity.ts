/**
 * When the owner (or the platform on their behalf) last used the instance. `/health` reports it
 * so the platform's idle sweep can put the instance to sleep; health checks do not count. In
 * platform mode each use is also told to the platform (`onTouch`: platform/reportActivity.ts).
 */
export interface Activity {
  touch(): void;
  last(): Date;
}

export function createActivity(now: () => number = Date.now, onTouch?: () => void): Activity {
  // Boot counts as activity: an instance is woken by a request that is about to arrive.
  let last = now();
  return {
    touch: () => {
      last = now();
      onTouch?.();
    },
    last: () => new Date(last),
  };
}
