import type { Duplex } from 'node:stream';
import type { InstanceViewer } from '../accounts/instanceAccess.ts';

export interface OpenSocket {
  socket: Duplex;
  handle: string;
  /** The instance session it was opened with; absent for API clients with the instance token. */
  session?: InstanceViewer & { sessionId: string };
}

// A WebSocket close frame (server to client, unmasked): 1008 "policy violation" with a reason.
function closeFrame(reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 100));
  return Buffer.concat([Buffer.from([0x88, 2 + text.length, 0x03, 0xf0]), text]);
}

/**
 * The instance WebSockets the router holds open, so that revoking access (sign-out everywhere,
 * a demotion, a deleted instance) closes them at once instead of when the tab closes.
 */
export function createOpenSockets() {
  const open = new Map<Duplex, OpenSocket>();

  return {
    add(s: OpenSocket): void {
      open.set(s.socket, s);
    },
    remove(socket: Duplex): void {
      open.delete(socket);
    },
    /** Closes every socket `match` picks (close frame, then the connection); how many it closed. */
    close(match: (s: OpenSocket) => boolean, reason: string): number {
      let n = 0;
      for (const s of [...open.values()]) {
        if (!match(s)) continue;
        open.delete(s.socket);
        n++;
        s.socket.end(closeFrame(reason));
        // A client that does not answer the close is cut.
        setTimeout(() => s.socket.destroy(), 1000).unref();
      }
      return n;
    },
    get size(): number {
      return open.size;
    },
  };
}

export type OpenSockets = ReturnType<typeof createOpenSockets>;
