import type { AddressInfo } from 'node:net';
import type { Logger } from '@matrixos/shared';
import { createApp } from './api/createApp.ts';
import type { PlatformConfig } from './config.ts';
import type { Db } from './db/openDb.ts';
import { createInstanceStore } from './instances/store.ts';
import { createActivity } from './lifecycle/activity.ts';
import { createLifecycle } from './lifecycle/lifecycle.ts';
import { createOrchestrator, type ReconcileReport } from './orchestrator/orchestrator.ts';
import { createRouter } from './router/createRouter.ts';
import type { RuntimeDriver } from './runtime/driver.ts';
import { waitReady } from './runtime/index.ts';
import type { Sealer } from './secrets/sealer.ts';
import { createServer } from './server.ts';

export interface PlatformDeps {
  config: PlatformConfig;
  db: Db;
  runtime: RuntimeDriver;
  sealer: Sealer;
  adminToken: string;
  log: Logger;
  clock?: () => number;
}

/** Wires the platform from its dependencies; tests build it with temporary ones. */
export function createPlatform(deps: PlatformDeps) {
  const { config, runtime, log } = deps;
  const store = createInstanceStore(deps.db);
  const activity = createActivity(deps.clock);
  const orchestrator = createOrchestrator({
    store,
    runtime,
    sealer: deps.sealer,
    config,
    log: log.child({ module: 'orchestrator' }),
    waitReady,
    clock: deps.clock,
  });
  const lifecycle = createLifecycle({
    orchestrator,
    store,
    activity,
    config,
    log: log.child({ module: 'lifecycle' }),
    clock: deps.clock,
  });
  const router = createRouter({
    orchestrator,
    lifecycle,
    activity,
    config,
    adminToken: deps.adminToken,
    log: log.child({ module: 'router' }),
  });
  const app = createApp({
    orchestrator,
    lifecycle,
    store,
    adminToken: deps.adminToken,
    dataDir: config.dataDir,
    domain: config.domain,
    log,
  });
  const server = createServer({ app, router, domain: config.domain, log });

  return {
    app,
    server,
    orchestrator,
    lifecycle,
    store,
    activity,
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
      const reconciled = lifecycle.start();
      reconciled.catch((err) => log.error({ err }, 'startup reconcile failed'));
      return { port: (server.address() as AddressInfo).port, reconciled };
    },
    /** Stops taking requests and sweeping; the instances themselves keep running. */
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Open WebSockets and streams would hold the close forever: give them a moment, then cut.
      const cut = setTimeout(() => server.closeAllConnections(), 3000);
      await lifecycle.close();
      await closed;
      clearTimeout(cut);
      await router.close();
    },
  };
}

export type Platform = ReturnType<typeof createPlatform>;
