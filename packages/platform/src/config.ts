import path from 'node:path';
import { bytes, ConfigError, duration, parseEnv, parseSecretKey, port } from '@matrixos/shared';
import { z } from 'zod';
import { providerList, providerSpecs } from './accounts/oidc/providerSpecs.ts';
import { billingConfig, billingSettings } from './billing/config.ts';

/**
 * Every setting of the platform, from the environment (twelve-factor). `docs/configuration.md`
 * documents this table; keep the two in step.
 */
const schema = z.object({
  PLATFORM_PORT: port(9000),
  /** Loopback by default: in production an edge proxy (Caddy) on the same host fronts it. */
  PLATFORM_HOST: z.string().default('127.0.0.1'),
  PLATFORM_DOMAIN: z
    .string()
    .default('localhost')
    .transform((v) => v.toLowerCase())
    .refine((v) => /^[a-z0-9.-]+$/.test(v) && !v.startsWith('.') && !v.endsWith('.'), {
      message: 'expected a domain name such as matrix-os.example.com',
    }),
  /** The scheme and port users see, for the URLs the platform prints (defaults from the above). */
  PUBLIC_URL: z.url().optional(),
  DATA_DIR: z.string().default('./data'),
  RUNTIME: z.enum(['auto', 'docker', 'process', 'swarm']).default('auto'),
  PLATFORM_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Key sealing secrets at rest (32 bytes, base64); generated into DATA_DIR when unset. */
  PLATFORM_SECRET_KEY: z
    .string()
    .refine((v) => {
      try {
        return parseSecretKey(v).length === 32;
      } catch {
        return false;
      }
    }, 'must be 32 bytes, as base64 (openssl rand -base64 32) or 64 hex digits')
    .optional(),
  /** Names containers, volumes and labels: two platforms on one engine never touch each other's. */
  PLATFORM_ID: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,20}$/, 'lower-case letters, digits and hyphens, 2-21 chars, a letter first')
    .default('matrixos'),
  INSTANCE_IMAGE: z.string().default('matrixos/instance:latest'),
  INSTANCE_MEMORY: bytes('256m'),
  INSTANCE_CPUS: z.coerce.number().positive().max(64).default(0.5),
  INSTANCE_PIDS: z.coerce.number().int().min(16).default(256),
  DOCKER_NETWORK: z.string().default('matrixos-net'),
  /** RUNTIME=swarm: each instance node's engine, `name=unix:///path,name=tcp://host:port` (docs/swarm.md). */
  SWARM_NODE_ENGINES: z.string().default(''),
  /** RUNTIME=swarm: the platform's own container, joined to each user's network (default: this host's name). */
  SWARM_PLATFORM_CONTAINER: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/)
    .optional(),
  IDLE_TIMEOUT: duration('30m'),
  SWEEP_INTERVAL: duration('5m'),
  /** Instances the idle sweep freezes (or stops, when they are not frozen) at once. */
  SWEEP_PARALLEL: z.coerce.number().int().min(1).max(64).default(16),
  /**
   * Freeze instances idle this long, before stopping them at IDLE_TIMEOUT; 0 = never. Ignored
   * where the engine cannot freeze (swarm). Idle instances held their memory until IDLE_TIMEOUT
   * anyway: frozen, they also stop using CPU, wake in ~50 ms, and a sweep puts 99 to sleep in
   * 1.4 s where stopping them took 10 s (docs/benchmarks.md).
   */
  PAUSE_AFTER: duration('5m'),
  WAKE_TIMEOUT: duration('30s'),
  /** How long an instance moved to a new image has to answer its health check before it goes back. */
  ROLLOUT_HEALTH_TIMEOUT: duration('60s'),
  /** Move running instances to INSTANCE_IMAGE at start when some run another image (a rolling upgrade). */
  ROLLOUT_ON_START: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Trust X-Forwarded-* from the peer (only behind an edge proxy you run). */
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  PROXY_PORT: port(8080),
  /** What instances use as their Anthropic base URL (the LLM proxy, reachable from instances). */
  INSTANCE_PROXY_URL: z.url().optional(),
  /** Where the platform reaches the LLM proxy's admin API (key registry); `none`: no proxy. */
  PROXY_ADMIN_URL: z.union([z.url(), z.literal('none')]).optional(),
  /** Request line plus headers, per request (larger: 431). */
  MAX_HEADER_SIZE: bytes('16k'),
  /** The headers of a request must arrive within this (slowloris). */
  HEADERS_TIMEOUT: duration('10s'),
  /** A control-plane request body must arrive within this; instance traffic is not bounded by it. */
  BODY_TIMEOUT: duration('30s'),
  /** Sign in with Google: a Google Cloud OAuth client (both set, or neither: off). */
  OIDC_GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  OIDC_GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  /** Other OpenID Connect providers: a JSON list of {id, name, issuer, clientId, clientSecret}. */
  OIDC_PROVIDERS: providerList.optional(),
  /** Each new user volume's own filesystem of this size (docker runtime; needs root); 0 = no quota. */
  INSTANCE_DISK: bytes('1g'),
  /** Where those filesystems (sparse files) live: in production, not the filesystem of DATA_DIR. */
  INSTANCE_DISK_DIR: z.string().optional(),
  /** The instance-facing API (job due times), on the address instances reach the host at; 0: any free port. */
  INSTANCE_API_PORT: port(9001),
  /**
   * The native edge's route API (deploy/edge): set, the platform tells it where each running
   * instance answers and the edge routes to them directly; unset, this router is the only path.
   */
  EDGE_ADMIN_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The bearer secret of that API (the edge's `EDGE_SECRET`). */
  EDGE_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Wake a sleeping instance this long before its next job is due (a start takes seconds). */
  JOB_WAKE_LEAD: duration('30s'),
  /** Billing (docs/billing.md): off unless STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and BILLING_PLANS are set. */
  ...billingSettings,
  /** The Matrix homeserver's client API (docs/matrix.md); unset: no Matrix (health says not_configured). */
  MATRIX_HOMESERVER_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The homeserver's server name, the `:server` of user ids. */
  MATRIX_SERVER_NAME: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/, 'a host name such as matrix.example.com')
    .optional(),
  /** The registration token the platform registers `@{handle}` and `@{handle}_ai` with. */
  MATRIX_REGISTRATION_TOKEN: z.string().min(8).optional(),
  /** The appservice's hs_token: the homeserver pushes DMs to sleeping instances' AIs with it. */
  MATRIX_APPSERVICE_HS_TOKEN: z.string().min(16).optional(),
  /** Where instances reach the homeserver: a relay on the address instances reach the host at; 0: any free port. */
  MATRIX_INSTANCE_PORT: port(9002),
  /** The Telegram Bot API root instances use (unset: Telegram's own; a stand-in in tests). */
  INSTANCE_TELEGRAM_API_ROOT: z.url({ protocol: /^https?$/ }).optional(),
});

export type PlatformConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const c = parseEnv(schema, env);
  const dataDir = path.resolve(c.DATA_DIR);
  const portSuffix = c.PLATFORM_PORT === 80 ? '' : `:${c.PLATFORM_PORT}`;
  const publicUrl = new URL(c.PUBLIC_URL ?? `http://${c.PLATFORM_DOMAIN}${portSuffix}`);
  return {
    port: c.PLATFORM_PORT,
    host: c.PLATFORM_HOST,
    domain: c.PLATFORM_DOMAIN,
    publicUrl,
    dataDir,
    runtime: c.RUNTIME,
    adminToken: c.PLATFORM_ADMIN_TOKEN,
    secretKey: c.PLATFORM_SECRET_KEY,
    platformId: c.PLATFORM_ID,
    instance: {
      image: c.INSTANCE_IMAGE,
      limits: {
        memoryBytes: c.INSTANCE_MEMORY,
        nanoCpus: Math.round(c.INSTANCE_CPUS * 1e9),
        pids: c.INSTANCE_PIDS,
      },
      proxyUrl: c.INSTANCE_PROXY_URL,
      telegramApiRoot: c.INSTANCE_TELEGRAM_API_ROOT,
    },
    dockerNetwork: c.DOCKER_NETWORK,
    swarm: {
      nodeEngines: c.SWARM_NODE_ENGINES,
      platformContainer: c.SWARM_PLATFORM_CONTAINER,
    },
    lifecycle: {
      idleTimeoutMs: c.IDLE_TIMEOUT,
      sweepIntervalMs: c.SWEEP_INTERVAL,
      sweepParallel: c.SWEEP_PARALLEL,
      pauseAfterMs: c.PAUSE_AFTER,
      wakeTimeoutMs: c.WAKE_TIMEOUT,
    },
    rollout: { healthTimeoutMs: c.ROLLOUT_HEALTH_TIMEOUT, onStart: c.ROLLOUT_ON_START },
    trustProxy: c.TRUST_PROXY,
    proxyPort: c.PROXY_PORT,
    proxyAdminUrl:
      c.PROXY_ADMIN_URL === 'none' ? null : (c.PROXY_ADMIN_URL ?? `http://127.0.0.1:${c.PROXY_PORT}`),
    limits: {
      maxHeaderBytes: c.MAX_HEADER_SIZE,
      headersTimeoutMs: c.HEADERS_TIMEOUT,
      bodyTimeoutMs: c.BODY_TIMEOUT,
    },
    oidcProviders: providerSpecs({
      googleClientId: c.OIDC_GOOGLE_CLIENT_ID,
      googleClientSecret: c.OIDC_GOOGLE_CLIENT_SECRET,
      providers: c.OIDC_PROVIDERS,
    }),
    disk: {
      sizeBytes: c.INSTANCE_DISK,
      dir: path.resolve(c.INSTANCE_DISK_DIR ?? path.join(dataDir, 'disks')),
    },
    instanceApiPort: c.INSTANCE_API_PORT,
    edge: edgeConfig(c),
    jobWakeLeadMs: c.JOB_WAKE_LEAD,
    billing: billingConfig(c),
    matrix: matrixConfig(c),
  };
}

/** The URL of an instance as users reach it: `{handle}.{domain}` with the public scheme and port. */
export function instanceUrl(config: Pick<PlatformConfig, 'publicUrl'>, handle: string): string {
  const u = new URL(config.publicUrl);
  u.hostname = `${handle}.${u.hostname}`;
  return u.origin;
}

function edgeConfig(c: { EDGE_ADMIN_URL?: string | undefined; EDGE_SECRET?: string | undefined }) {
  if (!c.EDGE_ADMIN_URL) return null;
  if (!c.EDGE_SECRET)
    throw new ConfigError(
      'EDGE_SECRET: required with EDGE_ADMIN_URL (the edge refuses route changes without it)',
    );
  return { adminUrl: c.EDGE_ADMIN_URL.replace(/\/+$/, ''), secret: c.EDGE_SECRET };
}

function matrixConfig(c: {
  MATRIX_HOMESERVER_URL?: string | undefined;
  MATRIX_SERVER_NAME?: string | undefined;
  MATRIX_REGISTRATION_TOKEN?: string | undefined;
  MATRIX_APPSERVICE_HS_TOKEN?: string | undefined;
  MATRIX_INSTANCE_PORT: number;
}) {
  if (!c.MATRIX_HOMESERVER_URL) return null;
  if (!c.MATRIX_SERVER_NAME || !c.MATRIX_REGISTRATION_TOKEN)
    throw new ConfigError(
      'MATRIX_HOMESERVER_URL is set: MATRIX_SERVER_NAME and MATRIX_REGISTRATION_TOKEN are needed too (docs/matrix.md)',
    );
  return {
    url: c.MATRIX_HOMESERVER_URL.replace(/\/+$/, ''),
    serverName: c.MATRIX_SERVER_NAME,
    registrationToken: c.MATRIX_REGISTRATION_TOKEN,
    appserviceToken: c.MATRIX_APPSERVICE_HS_TOKEN ?? null,
    instancePort: c.MATRIX_INSTANCE_PORT,
  };
}
