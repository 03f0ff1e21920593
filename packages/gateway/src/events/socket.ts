import { upgradeWebSocket } from '@hono/node-server';
import { HttpError, type Logger } from '@matrixos/shared';
import { Hono } from 'hono';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Activity } from '../activity.ts';
import type { Passes } from '../auth/passes.ts';
import type { AuthEnv } from '../auth/require-auth.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { VERSION } from '../version.ts';
import type { EventBus } from './bus.ts';
import { CLIENT_MESSAGE_TYPES, clientMessageSchema, type ServerEvent } from './contract.ts';

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
 * `/ws`: pushes the instance's events as JSON (`inbox.message`, `files.changed`, `chat.*`) to
 * every open shell of the owner. Client messages are JSON `{type, ...}`: `ping`, `chat.send`,
 * `chat.cancel` (docs/shell.md); each counts as activity. A refused message is answered, to its
 * sender only, with `{type: "error", code, message, requestId?}`. A socket opened with an instance
 * pass is closed (1008) when the platform revokes that session.
 */
export function socketRoutes({
  bus,
  activity,
  handle,
  log,
  kernel,
  passes,
}: {
  bus: EventBus;
  activity: Activity;
  handle: string;
  log: Logger;
  kernel: Kernel;
  passes: Pick<Passes, 'track'>;
}): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.get(
    '/ws',
    upgradeWebSocket((c) => {
      const auth = c.get('auth');
      let unsubscribe = () => {};
      let heartbeat: NodeJS.Timeout | undefined;
      return {
        onOpen(_event, ws) {
          const raw = ws.raw as WebSocket;
          if (auth?.via === 'pass') passes.track(auth.sessionId, raw);
          const send = (data: ServerEvent) => {
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
          const reply = (data: ServerEvent) => ws.send(JSON.stringify(data));
          let raw: { type?: unknown };
          try {
            raw = typeof event.data === 'string' ? JSON.parse(event.data) : {};
          } catch {
            return reply({ type: 'error', code: 'invalid_json', message: 'messages must be JSON objects' });
          }
          const parsed = clientMessageSchema.safeParse(raw);
          if (!parsed.success) {
            const known = (CLIENT_MESSAGE_TYPES as string[]).includes(raw?.type as string);
            const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
            return reply(
              known
                ? { type: 'error', code: 'invalid_message', message: issues }
                : { type: 'error', code: 'unknown_type', message: 'unknown message type' },
            );
          }
          const message = parsed.data;
          switch (message.type) {
            case 'ping':
              return reply({ type: 'pong', time: new Date().toISOString() });
            case 'chat.send':
              // The turn's events reach every shell through the bus; only a refusal is private.
              kernel.send(message).catch((err: unknown) => {
                if (!(err instanceof HttpError)) log.error({ err }, 'chat.send failed');
                const failure =
                  err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error');
                reply({
                  type: 'error',
                  code: failure.code,
                  message: failure.message,
                  requestId: message.requestId ?? null,
                });
              });
              return;
            case 'chat.cancel':
              if (!kernel.cancel(message.conversationId)) {
                reply({
                  type: 'error',
                  code: 'not_running',
                  message: 'no turn is running in this conversation',
                });
              }
              return;
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
