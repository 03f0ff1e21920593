import { hkdfSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSealer, type Logger } from '@matrixos/shared';
import { Hono } from 'hono';
import { createAccountStore } from './accounts/accountStore.ts';
import { createInstanceAccess } from './accounts/instanceAccess.ts';
import { createIdentityStore } from './accounts/oidc/identityStore.ts';
import { createOidcClient } from './accounts/oidc/oidcClient.ts';
import { createRateLimiter } from './accounts/rateLimiter.ts';
import { createSessions } from './accounts/sessions.ts';
import { createWebAuthn } from './accounts/webauthn.ts';
import { clientIp } from './api/clientIp.ts';
import { createApp } from './api/createApp.ts';
import { createEngineStatus } from './api/engineStatus.ts';
import { createProxyStatus } from './api/proxyStatus.ts';
import { createSessionCookies } from './api/sessionCookies.ts';
import { createVolumeDirs } from './backup/volumeDirs.ts';
import { createBilling } from './billing/billing.ts';
import { createTellUser } from './billing/tellUser.ts';
import type { PlatformConfig } from './config.ts';
import type { Db } from './db/openDb.ts';
import { createEdgeSync } from './edge/createEdgeSync.ts';
import { createNginxEdgeRoutes } from './edge/createNginxEdgeRoutes.ts';
import { instanceActivityRoutes } from './instanceApi/activityRoutes.ts';
import { createInstanceApi } from './instanceApi/createInstanceApi.ts';
import { instanceJobRoutes } from './instanceApi/jobRoutes.ts';
import { createJobWakes, type JobWakes } from './instanceApi/jobWakes.ts';
import { listenForInstances } from './instanceApi/listen.ts';
import { instanceSocialRoutes } from './instanceApi/socialRoutes.ts';
import { createRevocationPush } from './instances/pushRevocations.ts';
import { createInstanceStore } from './instances/store.ts';
import { createActivity } from './lifecycle/activity.ts';
import { createLifecycle } from './lifecycle/lifecycle.ts';
import { createBudgetNotices } from './llm/budgetNotices.ts';
import type { LlmProxy } from './llm/proxyClient.ts';
import { appserviceRoutes } from './matrix/appservice.ts';
import { createHomeserver, type Homeserver } from './matrix/homeserver.ts';
import { listenRelay } from './matrix/listenRelay.ts';
import { createMatrixAccountStore } from './matrix/matrixAccountStore.ts';
import { matrixRelay } from './matrix/matrixRelay.ts';
import { observeState } from './metrics/observeState.ts';
import { createPlatformMetrics, type PlatformMetrics } from './metrics/platformMetrics.ts';
import { createOrchestrator, type ReconcileReport } from './orchestrator/orchestrator.ts';
import type { RoutePublisher } from './orchestrator/routeTable.ts';
import { createRollouts } from './rollout/createRollouts.ts';
import { createRouter } from './router/createRouter.ts';
import type { RuntimeDriver } from './runtime/driver.ts';
import { waitReady } from './runtime/index.ts';
import { createServer } from './server.ts';
import { createSocial } from './social/social.ts';
import { createSocialStore } from './social/socialStore.ts';

export interface PlatformDeps {
  config: PlatformConfig;
  db: Db;
  runtime: RuntimeDriver;
  /** The platform's 32-byte secret: seals secrets at rest, and (derived) signs session tokens. */
  secretKey: Buffer;
  adminToken: string;
  /** The LLM proxy (main.ts builds it from PROXY_ADMIN_URL); tests may leave it out. */
  llm?: LlmProxy;
  log: Logger;
  clock?: () => number;
  /** Prometheus metrics (main.ts makes them first, for the runtime driver too); made here if absent. */
  metrics?: PlatformMetrics;
}

/** Wires the platform from its dependencies; tests build it with temporary ones. */
export function createPlatform(deps: PlatformDeps) {
  const { config, runtime, log } = deps;
  const clock = deps.clock ?? Date.now;
  const store = createInstanceStore(deps.db);
  const sealer = createSealer(deps.secretKey);
  const jwtKey = new Uint8Array(
    hkdfSync('sha256', deps.secretKey, new Uint8Array(0), 'matrixos session tokens', 32),
  );
  const sessions = createSessions({ db: deps.db, jwtKey, issuer: config.publicUrl.origin, sealer, clock });
  const cookies = createSessionCookies({ sessions, secure: config.publicUrl.protocol === 'https:' });
  const accounts = createAccountStore({ db: deps.db, sealer, clock });
  const webauthn = createWebAuthn({ origin: config.publicUrl.origin, rpID: config.publicUrl.hostname });
  const access = createInstanceAccess({ db: deps.db, sealer, clock });
  const limiter = createRateLimiter(clock);
  const oidc = {
    client: createOidcClient({
      providers: config.oidcProviders,
      redirectUri: (id) => `${config.publicUrl.origin}/auth/oidc/${id}/callback`,
    }),
    identities: createIdentityStore({ db: deps.db, sealer, clock }),
  };
  const activity = createActivity(deps.clock);
  // Issue 9: the instance API (its URL is known once it listens) and the wakes for due jobs.
  let instanceApiUrl: string | undefined;
  let instanceApiServer: Awaited<ReturnType<typeof listenForInstances>> | undefined;
  let wakes: JobWakes | undefined;
  const metrics = deps.metrics ?? createPlatformMetrics();
  // Issue 8: the Matrix homeserver (docs/matrix.md), when one is configured.
  const matrixAccounts = createMatrixAccountStore(deps.db);
  let matrixRelayUrl: string | undefined;
  let matrixRelayServer: Awaited<ReturnType<typeof listenRelay>> | undefined;
  const homeserver: Homeserver | null = config.matrix
    ? createHomeserver({
        config: config.matrix,
        accounts: matrixAccounts,
        sealer,
        log: log.child({ module: 'matrix' }),
        instanceUrl: () => matrixRelayUrl,
        clock: deps.clock,
      })
    : null;
  // Billing (made below, it needs the orchestrator) decides the limits of a paid plan's instance.
  let billing: ReturnType<typeof createBilling> | null = null;
  // Issue 15: the native edge routes straight to running instances; it is told where they are.
  // A woken instance first hears of the sessions that ended while it slept (made below).
  let revocations: ReturnType<typeof createRevocationPush> | undefined;
  const edge = config.edge
    ? createNginxEdgeRoutes({ ...config.edge, log: log.child({ module: 'edge' }) })
    : null;
  const routePublisher: RoutePublisher | undefined = edge
    ? {
        publish: async (handle, endpoint) => {
          await revocations?.beforeRoute(handle);
          await edge.publish(handle, endpoint);
        },
        withdraw: (handle) => edge.withdraw(handle),
      }
    : undefined;
  const orchestrator = createOrchestrator({
    routePublisher,
    planLimits: (handle) => billing?.planLimits(handle) ?? null,
    beforeFirstStart: homeserver
      ? (handle) =>
          // A homeserver that is down does not stop a sign-up: the next start's backfill registers.
          homeserver
            .ensure(handle)
            .catch((err) => log.error({ err, handle }, 'matrix accounts not registered (retried at start)'))
      : undefined,
    instanceEnv: (handle) => {
      const env: Record<string, string> = { ...homeserver?.instanceEnv(handle) };
      if (instanceApiUrl) env.MATRIXOS_PLATFORM_URL = instanceApiUrl;
      const repo = wakes?.jobsRepo(handle);
      if (repo) env.MATRIXOS_JOBS_REPO = repo;
      return env;
    },
    store,
    runtime,
    sealer,
    config,
    log: log.child({ module: 'orchestrator' }),
    waitReady,
    llmKeys: deps.llm,
    clock: deps.clock,
    metrics,
  });
  const lifecycle = createLifecycle({
    orchestrator,
    store,
    activity,
    config,
    log: log.child({ module: 'lifecycle' }),
    clock: deps.clock,
    keepAwake: (handle) => wakes?.dueSoon(handle) ?? false,
    metrics,
    canFreeze: runtime.pausable !== false,
  });
  wakes = createJobWakes({
    db: deps.db,
    wake: lifecycle.wake,
    sleeping: (handle) => {
      const state = store.get(handle)?.state;
      return state === 'stopped' || state === 'paused';
    },
    log: log.child({ module: 'job-wakes' }),
    clock: deps.clock,
    leadMs: config.jobWakeLeadMs,
  });
  const jobWakes = wakes;
  orchestrator.events.on('destroyed', (handle) => jobWakes.forget(handle));
  revocations = createRevocationPush({
    access,
    orchestrator,
    sessionEvents: sessions.events,
    log: log.child({ module: 'revocations' }),
  });
  const edgeSync = edge ? createEdgeSync({ edge, orchestrator, log: log.child({ module: 'edge' }) }) : null;
  const router = createRouter({
    orchestrator,
    lifecycle,
    activity,
    config,
    access,
    log: log.child({ module: 'router' }),
    sessionEvents: sessions.events,
    metrics,
    onRouteMissed: edgeSync?.missed,
    clock: deps.clock,
  });
  orchestrator.events.on('destroyed', access.forget);
  orchestrator.events.on('destroyed', (handle) => {
    void homeserver
      ?.deactivate(handle)
      .catch((err) => log.error({ err, handle }, 'could not deactivate the matrix accounts'));
  });
  const engineStatus = createEngineStatus({ runtime });
  // What /health says of the engine follows its events (one look at a time, however many come).
  orchestrator.events.on('engineChanged', () => void engineStatus.refresh());
  orchestrator.events.on('tokenRotated', access.forget);
  const proxyStatus = createProxyStatus({ ping: deps.llm?.ping });
  observeState(metrics, { store, engineStatus, proxyStatus });
  const social = createSocial({
    store: createSocialStore(deps.db, clock),
    instances: store,
    activity,
    lifecycle,
    access,
    limiter,
    log: log.child({ module: 'social' }),
    clock,
  });
  orchestrator.events.on('created', social.signedUp);
  orchestrator.events.on('destroyed', social.forget);
  const notices = createBudgetNotices({ lifecycle, access, log: log.child({ module: 'budget' }) });
  billing = config.billing
    ? createBilling({
        config: config.billing,
        publicUrl: config.publicUrl,
        db: deps.db,
        accounts,
        llm: deps.llm,
        orchestrator,
        tellUser: createTellUser({ lifecycle, access }),
        log: log.child({ module: 'billing' }),
        clock: deps.clock,
      })
    : null;
  const rollouts = createRollouts({
    db: deps.db,
    store,
    orchestrator,
    config,
    log: log.child({ module: 'rollout' }),
    clock: deps.clock,
  });
  const app = createApp({
    config,
    orchestrator,
    lifecycle,
    store,
    adminToken: deps.adminToken,
    accounts,
    webauthn,
    sessions,
    cookies,
    access,
    limiter,
    notices,
    activity,
    social,
    jobWakes,
    llm: deps.llm,
    oidc,
    log,
    clock,
    engineStatus,
    billing,
    volumeDirs: createVolumeDirs({
      runtime,
      platformId: config.platformId,
      dataDir: config.dataDir,
      disk: config.disk,
    }),
    proxyStatus,
    metrics,
    homeserver,
    rollouts,
  });
  const relay = config.matrix
    ? matrixRelay({
        homeserverUrl: config.matrix.url,
        limiter,
        // Never a header the caller picks: that would let anyone spend someone else's limit.
        callerOf: (c) => clientIp(c, config.trustProxy),
      })
    : null;
  const matrixApp =
    config.matrix && relay
      ? (() => {
          const m = new Hono();
          if (config.matrix.appserviceToken)
            m.route(
              '/',
              appserviceRoutes({
                hsToken: config.matrix.appserviceToken,
                serverName: config.matrix.serverName,
                rooms: matrixAccounts.rooms,
                wake: (handle) => {
                  const state = store.get(handle)?.state;
                  if (state !== 'stopped' && state !== 'paused') return;
                  log.info({ handle }, 'waking for a matrix message');
                  lifecycle.wake(handle).catch((err) => log.error({ err, handle }, 'matrix wake failed'));
                },
                conversed: (from, to) => social.conversation(from, to),
                log: log.child({ module: 'appservice' }),
              }),
            );
          m.route('/', relay);
          return m;
        })()
      : null;
  const server = createServer({
    app,
    router,
    domain: config.domain,
    log,
    limits: config.limits,
    matrix: matrixApp,
  });
  const instanceApi = createInstanceApi({
    store,
    sealer,
    limiter,
    log: log.child({ module: 'instance-api' }),
    routes: [
      instanceJobRoutes({ wakes: jobWakes, activity }),
      instanceActivityRoutes({ activity }),
      instanceSocialRoutes({ social }),
    ],
    clock: deps.clock,
  });

  /** The proxy may start a moment after the platform (npm start runs both): try a few times. */
  async function syncKeysUntilDone(): Promise<void> {
    for (let attempt = 0; attempt < 30; attempt++) {
      if ((await orchestrator.syncLlmKeys()).failed.length === 0) return;
      await new Promise((r) => setTimeout(r, 2000).unref());
    }
    log.error('gave up registering instance keys with the LLM proxy: is it running? (PROXY_ADMIN_URL)');
  }

  return {
    app,
    server,
    orchestrator,
    lifecycle,
    store,
    activity,
    accounts,
    sessions,
    access,
    /** The engine's last known health; `refresh()` it when the engine reports a change. */
    engineStatus,
    /** The LLM proxy's last known health; `refresh()` to look now. */
    proxyStatus,
    metrics,
    router,
    wakes: jobWakes,
    social,
    instanceApi,
    /** Where instances reach the instance API (set once `listen` has bound it). */
    instanceApiUrl: () => instanceApiUrl,
    billing,
    /** The Matrix side (accounts, health); null without a homeserver. */
    homeserver,
    /** Where instances reach the homeserver (set once `listen` has bound the relay). */
    matrixRelayUrl: () => matrixRelayUrl,
    rollouts,
    /** Listens, then reconciles in the background; `reconciled` settles when that first pass ends. */
    async listen(
      port = config.port,
      host = config.host,
    ): Promise<{ port: number; reconciled: Promise<ReconcileReport> }> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await engineStatus.start();
      // Before the reconcile starts instances: their environment carries this URL.
      const forInstances = { host: runtime.hostAddress(), name: runtime.hostName() };
      instanceApiServer = await listenForInstances(instanceApi, forInstances, config.instanceApiPort);
      instanceApiUrl = instanceApiServer.url;
      if (relay && config.matrix) {
        matrixRelayServer = await listenRelay(relay, forInstances, config.matrix.instancePort);
        matrixRelayUrl = matrixRelayServer.url;
        homeserver?.start();
        // Users from before Matrix (or whose sign-up met a homeserver that was down): once each.
        void homeserver?.backfill(store.list().map((r) => r.handle)).then((r) => {
          if (r.registered.length) log.info({ handles: r.registered }, 'matrix accounts backfilled');
        });
      }
      jobWakes.start();
      proxyStatus.start();
      const reconciled = lifecycle.start();
      reconciled.catch((err) => log.error({ err }, 'startup reconcile failed'));
      // The edge keeps routes across its reloads, not across its restarts or ours: the full set.
      void reconciled.then(
        () => edgeSync?.start(),
        () => undefined,
      );
      // Once the engine and the database agree: instances on another image than the configured one move.
      void reconciled.then(
        () => rollouts.resume(),
        () => undefined,
      );
      if (deps.llm) void syncKeysUntilDone();
      billing?.start();
      return { port: (server.address() as AddressInfo).port, reconciled };
    },
    /** Stops taking requests and sweeping; the instances themselves keep running. */
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Upgraded sockets are not the server's to cut any more (closeAllConnections skips them).
      router.drain();
      // Open WebSockets and streams would hold the close forever: give them a moment, then cut.
      const cut = setTimeout(() => server.closeAllConnections(), 3000);
      engineStatus.stop();
      proxyStatus.stop();
      edgeSync?.stop();
      revocations?.close();
      await rollouts.close();
      await lifecycle.close();
      jobWakes.stop();
      await instanceApiServer?.close();
      homeserver?.stop();
      await matrixRelayServer?.close();
      billing?.stop();
      await closed;
      clearTimeout(cut);
      await router.close();
    },
  };
}

export type Platform = ReturnType<typeof createPlatform>;
