import { LABEL_HANDLE, type RuntimeEvent } from '../driver.ts';

const EVENT_STATE: Record<string, RuntimeEvent['state']> = {
  create: 'stopped',
  start: 'running',
  unpause: 'running',
  die: 'stopped',
  pause: 'paused',
  destroy: 'removed',
};

/**
 * One line of the engine's event stream, if it is about one of our containers; `created` marks
 * a new container (stopped until it starts).
 */
export function parseEvent(
  line: string,
  isOurs: (labels: Record<string, string> | undefined) => boolean,
): (RuntimeEvent & { created: boolean }) | null {
  try {
    const e = JSON.parse(line) as {
      Type?: string;
      Action?: string;
      id?: string;
      Actor?: { ID?: string; Attributes?: Record<string, string> };
    };
    const state = e.Action ? EVENT_STATE[e.Action] : undefined;
    const attrs = e.Actor?.Attributes;
    const id = e.Actor?.ID ?? e.id;
    if (e.Type !== 'container' || !state || !id || !isOurs(attrs)) return null;
    return { id, handle: attrs![LABEL_HANDLE]!, state, created: e.Action === 'create' };
  } catch {
    return null;
  }
}
