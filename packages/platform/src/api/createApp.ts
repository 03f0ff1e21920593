import { errorHandler, type Logger, notFoundHandler } from '@matrixos/shared';
import { Hono } from 'hono';
import type { InstanceStore } from '../instances/store.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { containerRoutes } from './containerRoutes.ts';
import { healthRoute } from './healthRoute.ts';
import { homePage } from './homePage.ts';
import { requireAdmin } from './requireAdmin.ts';
import { tlsAskRoute } from './tlsAskRoute.ts';

export interface AppDeps {
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  store: InstanceStore;
  adminToken: string;
  dataDir: string;
  domain: string;
  log: Logger;
}

/** The control plane's HTTP API (everything that is not an instance's traffic). */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError(errorHandler(deps.log));
  app.notFound(notFoundHandler);
  app.route(
    '/',
    healthRoute({ store: deps.store, runtime: deps.orchestrator.runtime, dataDir: deps.dataDir }),
  );
  app.route('/', tlsAskRoute({ domain: deps.domain, exists: deps.orchestrator.exists }));
  app.get('/', (c) => c.html(homePage(deps.store.counts())));
  // Deny by default: every route not declared public above needs the admin token, so a route
  // added later cannot be left open by forgetting a check.
  const admin = new Hono();
  admin.use('*', requireAdmin(deps.adminToken));
  admin.route('/', containerRoutes(deps));
  app.route('/', admin);
  return app;
}
