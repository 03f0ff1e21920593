import { errorHandler, type Logger, notFoundHandler } from '@matrixos/shared';
import { Hono } from 'hono';
import type { WebSocketServer } from 'ws';
import { type Activity, createActivity } from './activity.ts';
import { requireToken } from './auth/require-token.ts';
import type { GatewayConfig } from './config.ts';
import { createEventBus, type EventBus } from './events/bus.ts';
import { createSocketServer, socketRoutes } from './events/socket.ts';
import { fileRoutes } from './files/routes.ts';
import { homePaths } from './home/layout.ts';
import { inboxRoutes } from './inbox/routes.ts';
import { createInbox } from './inbox/store.ts';
import { profileRoutes } from './profile/routes.ts';
import { systemRoutes } from './system/routes.ts';
import { pageRoutes } from './web/page.ts';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** The one token that opens the API (see auth/token.ts for where it comes from). */
  token: string;
}

/** The instance: its HTTP app and the WebSocket server its node server hands upgrades to. */
export interface Gateway {
  app: Hono;
  sockets: WebSocketServer;
  bus: EventBus;
  activity: Activity;
  /** Closes every open WebSocket with 1001 (going away), for shutdown. */
  closeSockets(): void;
}

const PUBLIC_PATHS = new Set(['/', '/health']);

/** Wires the routes over one home. The home must exist (main.ts seeds it before this). */
export function createApp({ config, log, token }: GatewayDeps): Gateway {
  const startedAt = new Date();
  const activity = createActivity();
  const bus = createEventBus();
  const inbox = createInbox(homePaths(config.home).inbox);
  const sockets = createSocketServer();

  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);
  app.use(requireToken(token, activity, PUBLIC_PATHS));
  app.route('/', pageRoutes({ config, activity, startedAt }));
  app.route('/', systemRoutes({ config, log, activity, startedAt }));
  app.route('/', profileRoutes({ home: config.home }));
  app.route('/', inboxRoutes({ inbox, bus }));
  app.route('/', fileRoutes({ home: config.home, maxFileBytes: config.maxFileBytes, bus }));
  app.route('/', socketRoutes({ bus, activity, handle: config.handle, log }));

  return {
    app,
    sockets,
    bus,
    activity,
    closeSockets() {
      for (const client of sockets.clients) client.close(1001, 'server shutting down');
    },
  };
}
