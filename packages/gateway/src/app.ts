import {
  errorHandler,
  INSTANCE_REFRESH_PATH,
  type Logger,
  notFoundHandler,
  REVOCATIONS_PATH,
  TELEGRAM_WEBHOOK_PATH,
} from '@matrixos/shared';
import { Hono } from 'hono';
import type { WebSocketServer } from 'ws';
import { type Activity, createActivity } from './activity.ts';
import { createKioskTicket } from './appliance/kioskTicket.ts';
import { createNetwork } from './appliance/network.ts';
import { APPLIANCE_OPEN_PATHS, applianceRoutes } from './appliance/routes.ts';
import { appRoutes } from './apps/routes.ts';
import { createAppStore } from './apps/store.ts';
import { createPasses } from './auth/passes.ts';
import { type AuthEnv, requireAuth } from './auth/require-auth.ts';
import { type Channels, createChannels } from './channels/channel.ts';
import { createMatrixChannel, type MatrixChannel } from './channels/matrix/matrix.ts';
import { channelRoutes } from './channels/routes.ts';
import { createTelegramChannel } from './channels/telegram/telegram.ts';
import type { GatewayConfig } from './config.ts';
import { openApiRoute } from './contract/openapi.ts';
import { conversationRoutes } from './conversations/routes.ts';
import { createConversationStore } from './conversations/store.ts';
import { createEventBus, type EventBus } from './events/bus.ts';
import { createSocketServer, socketRoutes } from './events/socket.ts';
import { fsErrorToHttp } from './files/fs-errors.ts';
import { fileRoutes } from './files/routes.ts';
import { homePaths } from './home/layout.ts';
import { inboxRoutes } from './inbox/routes.ts';
import { createInbox } from './inbox/store.ts';
import { jobRoutes } from './jobs/routes.ts';
import { createJobs, type Jobs } from './jobs/service.ts';
import { createKernel, type Kernel } from './kernel/kernel.ts';
import { createOwnKey } from './kernel/own-key.ts';
import { type ActivityReporter, createActivityReporter } from './platform/reportActivity.ts';
import { revocationRoutes } from './platform/revocationRoutes.ts';
import { profileRoutes } from './profile/routes.ts';
import { sessionRoutes } from './session/routes.ts';
import { createSessionStore } from './session/store.ts';
import { settingsRoutes } from './settings/routes.ts';
import { shellRoutes } from './shell/routes.ts';
import { createProfilePublisher, type ProfilePublisher } from './social/profilePublisher.ts';
import { socialRoutes } from './social/routes.ts';
import { createSocial, type Social } from './social/social.ts';
import { createStorageGuard } from './storage/guard.ts';
import { systemRoutes } from './system/routes.ts';
import { createToolbox } from './tools/toolbox.ts';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** The one token that opens the API (see auth/token.ts for where it comes from). */
  token: string;
  /** The shell's files (`packages/gateway/shell/`, or `shell/` beside the bundle). */
  shellDir: string;
  /** The clock activity and instance passes are read from (tests pass their own). */
  now?: () => number;
  /** At most one activity report to the platform per this (ACTIVITY_REPORT_EVERY_MS; tests shorten it). */
  reportEveryMs?: number;
}

/** The instance: its HTTP app and the WebSocket server its node server hands upgrades to. */
export interface Gateway {
  app: Hono<AuthEnv>;
  sockets: WebSocketServer;
  bus: EventBus;
  activity: Activity;
  kernel: Kernel;
  /** The scheduler over `~/jobs` (started by `jobs.start()`; main.ts starts it after listening). */
  jobs: Jobs;
  /** Telegram (and later others): started in the background here, stopped by closeSockets. */
  channels: Channels;
  /** `@{handle}_ai` on Matrix (off without MATRIX_* in the environment); one of `channels`. */
  matrix: MatrixChannel;
  /** The social API's instance side: the sandbox the Matrix channel shares, the platform client. */
  social: Social;
  /** Publishes the profiles to the platform (started here when there is a platform). */
  profiles: ProfilePublisher | null;
  /** Tells the platform how the instance is used (platform mode with a platform URL). */
  activityReporter: ActivityReporter | null;
  /** Closes every open WebSocket with 1001 (going away) and stops running AI turns, for shutdown. */
  closeSockets(): void;
}

// `/api/health`: the seed's name for it (SDP-1's end-to-end script asks there). Telegram's webhook
// carries no owner credentials: its route checks the webhook secret instead; the platform's
// revocations route checks the instance token itself. The refresh path is the platform's (on this
// host, the edge never routes it here): should it arrive, it is a 404, never a redirect to itself.
const PUBLIC_PATHS = new Set([
  '/health',
  '/api/health',
  '/openapi.json',
  TELEGRAM_WEBHOOK_PATH,
  REVOCATIONS_PATH,
  INSTANCE_REFRESH_PATH,
]);

/**
 * Open to everyone, signed in or not: the page (shell or sign-in), its files, and signing in. In
 * platform mode `/` is the owner's only: a browser without a pass goes through the platform.
 */
const openPaths =
  (mode: GatewayConfig['mode']) =>
  (method: string, path: string): boolean =>
    ((method === 'GET' || method === 'HEAD') &&
      ((path === '/' && mode === 'single') || path.startsWith('/shell/'))) ||
    (method === 'POST' && path === '/api/session') ||
    (method === 'GET' && APPLIANCE_OPEN_PATHS.has(path));

/** Wires the routes over one home. The home must exist (main.ts seeds it before this). */
export async function createApp({
  config,
  log,
  token,
  shellDir,
  now,
  reportEveryMs,
}: GatewayDeps): Promise<Gateway> {
  const startedAt = new Date();
  const paths = homePaths(config.home);
  const platform = config.mode === 'platform';
  const sockets = createSocketServer();
  // Platform mode: the edge routes the owner's requests straight here, past the platform, so the
  // instance checks their passes itself (requireAuth) and tells the platform how it is used.
  const activityReporter =
    platform && config.platformUrl
      ? createActivityReporter({
          url: config.platformUrl,
          token,
          log,
          lastActive: () => activity.last(),
          openSockets: () => sockets.clients.size,
          everyMs: reportEveryMs,
        })
      : null;
  const activity = createActivity(now, activityReporter?.used);
  sockets.on('connection', (ws) => {
    activityReporter?.socketsChanged();
    ws.once('close', () => activityReporter?.socketsChanged());
  });
  const passes = createPasses({
    token,
    host: config.publicUrl ? new URL(config.publicUrl).host : undefined,
    now,
  });
  const bus = createEventBus();
  const inbox = createInbox(paths.inbox);
  const sessions = await createSessionStore(paths.sessions, log);
  const storage = createStorageGuard({ home: config.home, reserveBytes: config.storageReserveBytes });
  const apps = createAppStore({ home: config.home, bus, maxFileBytes: config.maxFileBytes, storage });
  const conversations = createConversationStore(paths.conversations);
  const jobs = await createJobs({ config, token, log, inbox, bus, activity });
  // The kernel comes after the toolbox that needs this; auto-replies use its client when called.
  let kernelRef: Kernel | null = null;
  // Likewise the Matrix channel, which needs the kernel, for the kernel's matrix_message tool.
  let matrixRef: MatrixChannel | null = null;
  const social = createSocial({
    config,
    token,
    log,
    inbox,
    bus,
    modelClient: async () => (kernelRef ? kernelRef.client() : null),
  });
  const toolbox = createToolbox({
    home: config.home,
    maxFileBytes: config.maxFileBytes,
    bus,
    apps,
    log,
    storage,
    jobs,
    social,
    matrix: config.matrix
      ? {
          send: (handle: string, text: string) => {
            if (!matrixRef) throw new Error('the Matrix channel is not ready');
            return matrixRef.sendToPeer(handle, text);
          },
          peerId: (handle: string) => matrixRef?.peerId(handle) ?? `@${handle}_ai`,
        }
      : undefined,
  });
  const ownKey = createOwnKey({ config, token, log });
  const kernel = createKernel({ config, log, bus, conversations, apps, toolbox, ownKey });
  kernelRef = kernel;
  const profiles = social.client
    ? createProfilePublisher({ home: config.home, client: social.client, bus, log })
    : null;
  const telegram = createTelegramChannel({ config, token, log, kernel, bus, activity });
  const matrix = createMatrixChannel({
    settings: config.matrix,
    home: config.home,
    log: log.child({ module: 'matrix' }),
    kernel,
    bus,
    activity,
    social,
    inbox,
  });
  matrixRef = matrix;
  const channels = createChannels([telegram, matrix]);

  const app = new Hono<AuthEnv>();
  const onError = errorHandler(log);
  // A filesystem error that escaped a route's own handling is still the user's path, not a 500.
  app.onError((err, c) => onError(fsErrorToHttp(err) ?? err, c));
  app.notFound(notFoundHandler);
  app.use(
    requireAuth({
      token,
      sessions,
      activity,
      publicPaths: PUBLIC_PATHS,
      open: openPaths(config.mode),
      passes: platform ? passes : undefined,
    }),
  );
  if (config.appliance) {
    // Before the shell: the appliance notes when its kiosk is given the desktop (`/`).
    const ticket = config.appliance.kioskTicket ? createKioskTicket(config.appliance.kioskTicket) : null;
    await ticket?.issue().catch((err) => log.warn({ err }, 'no kiosk ticket written'));
    const network = createNetwork();
    app.route(
      '/',
      applianceRoutes({ appliance: config.appliance, shellDir, sessions, network, ticket, log }),
    );
  }
  app.route('/', shellRoutes({ shellDir, config }));
  app.route('/', sessionRoutes({ token, sessions, config }));
  app.route('/', revocationRoutes({ token, passes }));
  app.route('/', systemRoutes({ config, log, activity, startedAt, channels }));
  app.route('/', profileRoutes({ home: config.home }));
  app.route('/', inboxRoutes({ inbox, bus, storage }));
  app.route('/', fileRoutes({ home: config.home, maxFileBytes: config.maxFileBytes, bus, storage }));
  app.route('/', appRoutes({ home: config.home, apps }));
  app.route('/', conversationRoutes({ conversations, toolbox }));
  app.route('/', settingsRoutes({ config, log, ownKey, client: kernel.client }));
  app.route('/', openApiRoute());
  app.route('/', jobRoutes({ jobs, sync: jobs.sync }));
  app.route('/', channelRoutes({ telegram }));
  app.route('/', socialRoutes({ social, handle: config.handle }));
  app.route('/', socketRoutes({ bus, activity, handle: config.handle, log, kernel, passes }));
  // In the background: a slow Bot API must not hold up the instance's first answer.
  void channels.startAll();
  // Also in the background: the platform keeps the copy others read, so it need not be first.
  void profiles?.start();

  return {
    app,
    sockets,
    bus,
    activity,
    kernel,
    jobs,
    channels,
    matrix,
    social,
    profiles,
    activityReporter,
    closeSockets() {
      activityReporter?.stop();
      profiles?.stop();
      void jobs.close();
      void channels.stopAll();
      kernel.cancelAll();
      for (const client of sockets.clients) client.close(1001, 'server shutting down');
    },
  };
}
