import { hkdfSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSealer, type Logger } from '@matrixos/shared';
import { createAccountStore } from './accounts/accountStore.ts';
import { createInstanceAccess } from './accounts/instanceAccess.ts';
import { createIdentityStore } from './accounts/oidc/identityStore.ts';
import { createOidcClient } from './accounts/oidc/oidcClient.ts';
import { createRateLimiter } from './accounts/rateLimiter.ts';
import { createSessions } from './accounts/sessions.ts';
import { createWebAuthn } from './accounts/webauthn.ts';
import { createApp } from './api/createApp.ts';
import { createEngineStatus } from './api/engineStatus.ts';
import { createProxyStatus } from './api/proxyStatus.ts';
import { createSessionCookies } from './api/sessionCookies.ts';
import { createVolumeDirs } from './backup/volumeDirs.ts';
import { createBilling } from './billing/billing.ts';
import { createTellUser } from './billing/tellUser.ts';
import type { PlatformConfig } from './config.ts';
import type { Db } from './db/openDb.ts';
import { createInstanceApi } from './instanceApi/createInstanceApi.ts';
import { instanceJobRoutes } from './instanceApi/jobRoutes.ts';
import { createJobWakes, type JobWakes } from './instanceApi/jobWakes.ts';
import { listenInstanceApi } from './instanceApi/listen.ts';
import { createInstanceStore } from './instances/store.ts';
import { createActivity } from './lifecycle/activity.ts';
import { createLifecycle } from './lifecycle/lifecycle.ts';
import { createBudgetNotices } from './llm/budgetNotices.ts';
import type { LlmProxy } from './llm/proxyClient.ts';
import { observeState } from './metrics/observeState.ts';
import { createPlatformMetrics, type PlatformMetrics } from './metrics/platformMetrics.ts';
import { createOrchestrator, type ReconcileReport } from './orchestrator/orchestrator.ts';
import { createRouter } from './router/createRouter.ts';
import type { RuntimeDriver } from './runtime/driver.ts';
import { waitReady } from './runtime/index.ts';
import { createServer } from './server.ts';

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
  let instanceApiServer: Awaited<ReturnType<typeof listenInstanceApi>> | undefined;
  let wakes: JobWakes | undefined;
  const metrics = deps.metrics ?? createPlatformMetrics();
  // Billing (made below, it needs the orchestrator) decides the limits of a paid plan's instance.
  let billing: ReturnType<typeof createBilling> | null = null;
  const orchestrator = createOrchestrator({
    planLimits: (handle) => billing?.planLimits(handle) ?? null,
    instanceEnv: (handle) => {
      const env: Record<string, string> = {};
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
  const router = createRouter({
    orchestrator,
    lifecycle,
    activity,
    config,
    access,
    log: log.child({ module: 'router' }),
    sessionEvents: sessions.events,
    metrics,
  });
  orchestrator.events.on('destroyed', access.forget);
  const engineStatus = createEngineStatus({ runtime });
  // What /health says of the engine follows its events (one look at a time, however many come).
  orchestrator.events.on('engineChanged', () => void engineStatus.refresh());
  orchestrator.events.on('tokenRotated', access.forget);
  const proxyStatus = createProxyStatus({ ping: deps.llm?.ping });
  observeState(metrics, { store, engineStatus, proxyStatus });
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
  });
  const server = createServer({ app, router, domain: config.domain, log, limits: config.limits });
  const instanceApi = createInstanceApi({
    store,
    sealer,
    limiter,
    log: log.child({ module: 'instance-api' }),
    routes: [instanceJobRoutes({ wakes: jobWakes, activity })],
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
    instanceApi,
    /** Where instances reach the instance API (set once `listen` has bound it). */
    instanceApiUrl: () => instanceApiUrl,
    billing,
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
      instanceApiServer = await listenInstanceApi(instanceApi, runtime.hostAddress(), config.instanceApiPort);
      instanceApiUrl = instanceApiServer.url;
      jobWakes.start();
      proxyStatus.start();
      const reconciled = lifecycle.start();
      reconciled.catch((err) => log.error({ err }, 'startup reconcile failed'));
      if (deps.llm) void syncKeysUntilDone();
      billing?.start();
      return { port: (server.address() as AddressInfo).port, reconciled };
    },
    /** Stops taking requests and sweeping; the instances themselves keep running. */
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Open WebSockets and streams would hold the close forever: give them a moment, then cut.
      const cut = setTimeout(() => server.closeAllConnections(), 3000);
      engineStatus.stop();
      proxyStatus.stop();
      await lifecycle.close();
      jobWakes.stop();
      await instanceApiServer?.close();
      billing?.stop();
      await closed;
      clearTimeout(cut);
      await router.close();
    },
  };
}

export type Platform = ReturnType<typeof createPlatform>;
