import { errorHandler, type Logger, limitBody, notFoundHandler } from '@matrixos/shared';
import { Hono } from 'hono';
import type { AccountStore } from '../accounts/accountStore.ts';
import type { InstanceAccess } from '../accounts/instanceAccess.ts';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { Sessions } from '../accounts/sessions.ts';
import type { WebAuthn } from '../accounts/webauthn.ts';
import type { Billing } from '../billing/billing.ts';
import type { PlatformConfig } from '../config.ts';
import type { JobWakes } from '../instanceApi/jobWakes.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { Activity } from '../lifecycle/activity.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { BudgetNotices } from '../llm/budgetNotices.ts';
import type { LlmUsage } from '../llm/proxyClient.ts';
import type { Homeserver, HomeserverState } from '../matrix/homeserver.ts';
import { metricsRoute } from '../metrics/metricsRoute.ts';
import type { PlatformMetrics } from '../metrics/platformMetrics.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { Rollouts } from '../rollout/createRollouts.ts';
import type { Social } from '../social/social.ts';
import { adminOverviewRoute } from './adminOverviewRoute.ts';
import { authRoutes } from './authRoutes.ts';
import { billingRoutes } from './billingRoutes.ts';
import { budgetNoticeRoute } from './budgetNoticeRoute.ts';
import { containerRoutes } from './containerRoutes.ts';
import { openApiRoute } from './contract/openapi.ts';
import type { EngineStatus } from './engineStatus.ts';
import { exportRoute } from './exportRoute.ts';
import { healthRoute } from './healthRoute.ts';
import { instanceAliasRoutes } from './instanceAliasRoutes.ts';
import { matrixLoginRoute } from './matrixLoginRoute.ts';
import { meRoutes } from './meRoutes.ts';
import { type OidcDeps, oidcRoutes } from './oidcRoutes.ts';
import { originCheck } from './originCheck.ts';
import { pageRoutes } from './pageRoutes.ts';
import type { ProxyStatus } from './proxyStatus.ts';
import { isAdminToken, requireAdmin } from './requireAdmin.ts';
import { rolloutRoutes } from './rolloutRoutes.ts';
import type { SessionCookies } from './sessionCookies.ts';
import { socialRoutes } from './socialRoutes.ts';
import { tlsAskRoute } from './tlsAskRoute.ts';
import { userRoutes } from './userRoutes.ts';

export interface AppDeps {
  config: Pick<PlatformConfig, 'dataDir' | 'domain' | 'publicUrl' | 'trustProxy' | 'instance'>;
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  store: InstanceStore;
  adminToken: string;
  accounts: AccountStore;
  webauthn: WebAuthn;
  sessions: Sessions;
  cookies: SessionCookies;
  access: InstanceAccess;
  limiter: RateLimiter;
  notices: BudgetNotices;
  activity: Activity;
  /** The social API (issue 8): directory, profiles, feed, settings. */
  social: Social;
  /** Due times and jobs repos of instances (issue 9); provision records `jobsRepo` there. */
  jobWakes?: JobWakes;
  /** The LLM proxy's usage, for the dashboards; absent when no proxy runs. */
  llm?: LlmUsage;
  /** Sign-in with OpenID Connect providers (none configured: the routes say so). */
  oidc: OidcDeps['oidc'];
  log: Logger;
  clock?: () => number;
  /** The engine's last known health, for `GET /health` (never an engine call per request). */
  engineStatus: EngineStatus;
  /** Stripe billing (docs/billing.md); null or absent: billing is off. */
  billing?: Billing | null;
  /** Where a volume's files are on this host: `GET /me/export` reads there (absent: no export). */
  volumeDirs?: (volume: string) => Promise<string>;
  /** The LLM proxy's last known health, for `GET /health`. */
  proxyStatus: ProxyStatus;
  /** The Matrix homeserver's state for /health; null or absent: none configured. */
  homeserver?: (Pick<Homeserver, 'ownerId' | 'resetOwnerPassword'> & { current(): HomeserverState }) | null;
  /** The platform's Prometheus metrics (`GET /metrics`, admin only); the sign-in routes count into them. */
  metrics: PlatformMetrics;
  /** Rolling instance-image upgrades (`/admin/rollout`, and the admin page's progress). */
  rollouts: Rollouts;
}

/** The largest body any control-plane route takes (routes set smaller limits of their own). */
export const MAX_CONTROL_BODY = 64 * 1024;

/** The control plane's HTTP API and pages (everything that is not an instance's traffic). */
export function createApp(deps: AppDeps): Hono {
  const { config, orchestrator } = deps;
  const app = new Hono();
  app.onError(errorHandler(deps.log));
  app.notFound(notFoundHandler);
  app.use('*', limitBody(MAX_CONTROL_BODY));
  app.use('*', originCheck([config.publicUrl.origin], isAdminToken(deps.adminToken)));
  app.route(
    '/',
    healthRoute({
      store: deps.store,
      runtime: orchestrator.runtime,
      engine: deps.engineStatus,
      proxy: deps.proxyStatus,
      dataDir: config.dataDir,
      homeserver: deps.homeserver,
    }),
  );
  app.route('/', tlsAskRoute({ domain: config.domain, exists: orchestrator.exists }));
  app.route('/', pageRoutes(deps));
  app.route('/', authRoutes({ ...deps, trustProxy: config.trustProxy }));
  app.route('/', meRoutes(deps));
  app.route('/', matrixLoginRoute(deps));
  app.route('/', oidcRoutes(deps));
  app.route('/', openApiRoute());
  app.route('/', billingRoutes(deps));
  app.route('/', socialRoutes(deps));
  if (deps.volumeDirs) app.route('/', exportRoute({ ...deps, volumeDirs: deps.volumeDirs }));
  // Deny by default: every route not declared above needs the admin token or an admin's
  // session, so a route added later cannot be left open by forgetting a check.
  const admin = new Hono();
  admin.use('*', requireAdmin(deps.adminToken, deps.cookies));
  admin.route('/', containerRoutes(deps));
  admin.route('/', adminOverviewRoute(deps));
  admin.route('/', rolloutRoutes({ ...deps, config: deps.config }));
  admin.route('/', budgetNoticeRoute(deps.notices));
  admin.route('/', userRoutes(deps.accounts, deps.sessions.events));
  admin.route('/', instanceAliasRoutes(deps));
  admin.route(
    '/',
    metricsRoute({ metrics: deps.metrics, limiter: deps.limiter, trustProxy: config.trustProxy }),
  );
  app.route('/', admin);
  return app;
}
