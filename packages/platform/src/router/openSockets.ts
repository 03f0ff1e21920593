import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { InstanceViewer } from '../accounts/instanceAccess.ts';

export interface OpenSocket {
  handle: string;
  /** The instance session it was opened with; absent for API clients with the instance token. */
  session?: InstanceViewer & { sessionId: string };
  /** Ends it now, saying why where the protocol can (a WebSocket close code: 1008 unless given). */
  close(reason: string, code?: number): void;
}

// A WebSocket close frame (server to client, unmasked) with a reason: 1008 "policy violation" for a
// revocation, 1012 "service restart" when the platform stops (clients come back).
function closeFrame(reason: string, code: number): Buffer {
  const text = Buffer.from(reason.slice(0, 100));
  return Buffer.concat([Buffer.from([0x88, 2 + text.length, code >> 8, code & 0xff]), text]);
}

/** Closing a relayed WebSocket: a close frame, then the connection (a client that does not answer is cut). */
export function closeWebSocket(socket: Duplex): (reason: string) => void {
  return (reason, code = 1008) => {
    socket.end(closeFrame(reason, code));
    setTimeout(() => socket.destroy(), 1000).unref();
  };
}

/** Closing a response in flight (an event stream, a long poll, a download): the connection goes. */
export function closeResponse(res: http.ServerResponse): () => void {
  return () => res.destroy();
}

/**
 * What the router holds open for instances (WebSockets, and responses still streaming), so that
 * revoking access (sign-out everywhere, a demotion, a deleted instance) ends them at once instead
 * of when the tab closes.
 */
export function createOpenSockets() {
  const open = new Map<object, OpenSocket>();

  return {
    /** Tracks `entry` until `key` emits `close`. */
    add(key: Duplex | http.ServerResponse, entry: OpenSocket): void {
      open.set(key, entry);
      key.once('close', () => open.delete(key));
    },
    /** Closes every one `match` picks; how many it closed. */
    close(match: (s: OpenSocket) => boolean, reason: string, code?: number): number {
      let n = 0;
      for (const [key, s] of [...open]) {
        if (!match(s)) continue;
        open.delete(key);
        n++;
        s.close(reason, code);
      }
      return n;
    },
    get size(): number {
      return open.size;
    },
  };
}

export type OpenSockets = ReturnType<typeof createOpenSockets>;
