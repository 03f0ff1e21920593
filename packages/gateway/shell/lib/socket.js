// @ts-check
// The instance's WebSocket: reconnects with backoff; the session cookie (or the platform's pass)
// authenticates it.

/** @typedef {import('../../src/events/contract.ts').ServerEvent} ServerEvent */
/** @typedef {import('../../src/events/contract.ts').ClientMessage} ClientMessage */

/**
 * @param {{ onEvent: (event: ServerEvent) => void, onState: (state: 'connecting' | 'open' | 'closed') => void }} handlers
 */
export function connectSocket({ onEvent, onState }) {
  let ws = null;
  let attempt = 0;

  function open() {
    const url = new URL('ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(url, ['matrixos']);
    onState('connecting');
    ws.addEventListener('open', () => {
      attempt = 0;
      onState('open');
    });
    ws.addEventListener('message', (e) => {
      try {
        onEvent(JSON.parse(e.data));
      } catch (err) {
        console.error('bad event', err);
      }
    });
    ws.addEventListener('close', async () => {
      onState('closed');
      // A refused upgrade, or a close for a revoked session (1008), looks like any other drop: ask
      // whether the session still holds (a 401 reloads, which signs in again).
      const session = await fetch('api/session', { credentials: 'same-origin' }).catch(() => null);
      if (session?.status === 401) return location.reload();
      const delay = Math.min(15_000, 500 * 2 ** attempt++) * (0.75 + Math.random() / 2);
      setTimeout(open, delay);
    });
  }
  open();

  return {
    /** false when not connected (the caller says so to the owner). */
    /** @param {ClientMessage} message */
    send(message) {
      if (ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    },
  };
}
