import { upgradeWebSocket } from '@hono/node-server';
import type { Logger } from '@matrixos/shared';
import { Hono } from 'hono';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Activity } from '../activity.ts';
import { VERSION } from '../version.ts';
import type { EventBus } from './bus.ts';

/** The subprotocol a browser names beside its token; the server echoes this one, never the token. */
export const WS_PROTOCOL = 'matrixos';
const HEARTBEAT_MS = 30_000;

/** The WebSocket server the node server hands upgrades to (after the app has authenticated them). */
export function createSocketServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
}

/**
 * `/ws`: pushes the instance's events as JSON (`inbox.message`, `files.changed`) to the owner.
 * Client messages are JSON `{type, ...}`; each counts as activity. Only `ping` exists today:
 * later features (the AI kernel's chat) add their own types here.
 */
export function socketRoutes({
  bus,
  activity,
  handle,
  log,
}: {
  bus: EventBus;
  activity: Activity;
  handle: string;
  log: Logger;
}): Hono {
  const app = new Hono();
  app.get(
    '/ws',
    upgradeWebSocket(() => {
      let unsubscribe = () => {};
      let heartbeat: NodeJS.Timeout | undefined;
      return {
        onOpen(_event, ws) {
          const raw = ws.raw as WebSocket;
          const send = (data: unknown) => {
            if (raw.readyState === raw.OPEN) raw.send(JSON.stringify(data));
          };
          unsubscribe = bus.subscribe(send);
          // Drops peers that vanished without closing (a sleeping laptop), so they stop receiving.
          let alive = true;
          raw.on('pong', () => {
            alive = true;
          });
          heartbeat = setInterval(() => {
            if (!alive) return raw.terminate();
            alive = false;
            raw.ping();
          }, HEARTBEAT_MS);
          heartbeat.unref();
          send({ type: 'ready', handle, version: VERSION });
        },
        onMessage(event, ws) {
          activity.touch();
          const reply = (data: unknown) => ws.send(JSON.stringify(data));
          let message: { type?: unknown };
          try {
            message = typeof event.data === 'string' ? JSON.parse(event.data) : {};
          } catch {
            return reply({ type: 'error', code: 'invalid_json', message: 'messages must be JSON objects' });
          }
          switch (message?.type) {
            case 'ping':
              return reply({ type: 'pong', time: new Date().toISOString() });
            default:
              return reply({ type: 'error', code: 'unknown_type', message: 'unknown message type' });
          }
        },
        onClose() {
          unsubscribe();
          clearInterval(heartbeat);
        },
        onError(event) {
          log.debug({ err: (event as ErrorEvent).error }, 'websocket error');
        },
      };
    }),
  );
  return app;
}
