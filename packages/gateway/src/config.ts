import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { bytes, parseBytes, parseEnv, port, validateHandle } from '@matrixos/shared';
import { z } from 'zod';
import type { MatrixSettings } from './channels/matrix/matrix.ts';

const schema = z
  .object({
    PORT: port(4000),
    HOST: z.string().default('0.0.0.0'),
    // Single-user default: a visible folder in the owner's home, like ~/Documents.
    MATRIXOS_HOME: z.string().default(join(homedir(), 'matrixos')),
    MATRIXOS_MODE: z.enum(['single', 'platform']).default('single'),
    MATRIX_AUTH_TOKEN: z
      .string()
      .min(16, 'must be at least 16 characters (leave it unset in single-user mode to generate one)')
      .regex(/^\S+$/, 'must not contain whitespace')
      .optional(),
    // The platform's rule, from one place (a DNS label, not reserved): @matrixos/shared.
    MATRIX_HANDLE: z
      .string()
      .superRefine((handle, ctx) => {
        const check = validateHandle(handle);
        if (!check.ok) ctx.addIssue({ code: 'custom', message: check.reason });
      })
      .optional(),
    MAX_FILE_BYTES: bytes('10m'),
    // Free space the home's filesystem keeps: writes are refused (507) before it is all used.
    /** Unset: 64 MiB, or a tenth of the home's filesystem when that is smaller (a small quota). */
    STORAGE_RESERVE_BYTES: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return 'auto' as const;
        const n = parseBytes(v);
        if (n === null) {
          ctx.addIssue({ code: 'custom', message: `expected a size like 64m or 0 (got "${v}")` });
          return z.NEVER;
        }
        return n;
      }),
    // Platform mode: the LLM proxy and this instance's own proxy token. Single-user: Anthropic
    // itself and the owner's key (or none here, and the key set in the shell's settings).
    ANTHROPIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.anthropic.com'),
    ANTHROPIC_API_KEY: z.string().regex(/^\S+$/, 'must not contain whitespace').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Platform mode: the platform's instance-facing API (next job due time); unset: none.
    MATRIXOS_PLATFORM_URL: z.url({ protocol: /^https?$/ }).optional(),
    // A repo cloned into ~/jobs on the first boot (the platform sets it from provision's jobsRepo).
    MATRIXOS_JOBS_REPO: z.url({ protocol: /^https?$/ }).optional(),
    // Channels: the Bot API's root (a stand-in in tests), and the URL the instance is reached at
    // from outside (Telegram's webhook goes there; without one, single-user mode long-polls).
    TELEGRAM_API_ROOT: z.url({ protocol: /^https?$/ }).default('https://api.telegram.org'),
    MATRIXOS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    // Matrix (docs/matrix.md): the platform gives each instance its @{handle}_ai, and names the owner.
    MATRIX_HOMESERVER_URL: z.url({ protocol: /^https?$/ }).optional(),
    MATRIX_USER_ID: z
      .string()
      .regex(/^@[a-z0-9._=/-]+:[a-z0-9.:-]+$/, 'a Matrix user id such as @alice_ai:example.org')
      .optional(),
    MATRIX_ACCESS_TOKEN: z.string().regex(/^\S+$/).optional(),
    MATRIX_DEVICE_ID: z.string().optional(),
    MATRIX_OWNER_ID: z
      .string()
      .regex(/^@[a-z0-9._=/-]+:[a-z0-9.:-]+$/, 'a Matrix user id such as @alice:example.org')
      .optional(),
    // The appliance (distro/): its state folder on the data partition, and where the kiosk's
    // sign-in ticket goes. Unset: not an appliance, and the /appliance routes are absent.
    APPLIANCE_STATE_DIR: z.string().min(1).optional(),
    APPLIANCE_KIOSK_TICKET: z.string().min(1).optional(),
    APPLIANCE_OS_RELEASE: z.string().min(1).default('/usr/lib/os-release'),
  })
  .superRefine((env, ctx) => {
    if (env.MATRIXOS_MODE !== 'platform') return;
    // The platform provisions both; an instance without them would be open or unaddressable.
    if (!env.MATRIX_AUTH_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['MATRIX_AUTH_TOKEN'],
        message: 'required when MATRIXOS_MODE=platform',
      });
    }
    if (!env.MATRIX_HANDLE) {
      ctx.addIssue({
        code: 'custom',
        path: ['MATRIX_HANDLE'],
        message: 'required when MATRIXOS_MODE=platform',
      });
    }
  });

export interface GatewayConfig {
  port: number;
  host: string;
  /** Absolute path of the user's home (their files, profile, inbox). */
  home: string;
  mode: 'single' | 'platform';
  /** Unset in single-user mode means: use the stored token, or generate one. */
  authToken: string | undefined;
  handle: string;
  maxFileBytes: number;
  /** Writes that would leave less free space than this on the home's filesystem get a 507. */
  storageReserveBytes: number | 'auto';
  logLevel: string;
  /** Where the kernel's Messages API calls go (no trailing slash). */
  anthropicBaseUrl: string;
  /** The key those calls carry: the proxy token in platform mode, the owner's own key otherwise. */
  anthropicApiKey: string | undefined;
  /** The platform's instance API (`http://host:port`, no trailing slash), or undefined. */
  platformUrl?: string | undefined;
  /** Cloned into `~/jobs` on the first boot, if set. */
  jobsRepo?: string | undefined;
  /** The Telegram Bot API's root URL (no trailing slash). */
  telegramApiRoot: string;
  /** The instance's public origin (no trailing slash), when it has one. */
  publicUrl: string | undefined;
  /** `@{handle}_ai` on the homeserver, or null: no Matrix channel. */
  matrix: MatrixSettings | null;
  /** Set on the appliance only (distro/, packages/gateway/src/appliance/). */
  appliance?: ApplianceConfig | undefined;
}

export interface ApplianceConfig {
  /** update.json (written by the root updater), setup-done and reset-requested live here. */
  stateDir: string;
  /** The file the kiosk reads its one-time sign-in ticket from, or undefined: no kiosk. */
  kioskTicket: string | undefined;
  /** The image's os-release (IMAGE_VERSION is the appliance's version). */
  osRelease: string;
}

/** Reads the gateway's environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const e = parseEnv(schema, env);
  return {
    port: e.PORT,
    host: e.HOST,
    home: resolve(e.MATRIXOS_HOME),
    mode: e.MATRIXOS_MODE,
    authToken: e.MATRIX_AUTH_TOKEN,
    handle: e.MATRIX_HANDLE ?? 'owner',
    maxFileBytes: e.MAX_FILE_BYTES,
    storageReserveBytes: e.STORAGE_RESERVE_BYTES,
    logLevel: e.LOG_LEVEL,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL.replace(/\/+$/, ''),
    anthropicApiKey: e.ANTHROPIC_API_KEY,
    platformUrl: e.MATRIXOS_PLATFORM_URL?.replace(/\/+$/, ''),
    jobsRepo: e.MATRIXOS_JOBS_REPO,
    telegramApiRoot: e.TELEGRAM_API_ROOT.replace(/\/+$/, ''),
    publicUrl: e.MATRIXOS_PUBLIC_URL?.replace(/\/+$/, ''),
    matrix:
      e.MATRIX_HOMESERVER_URL && e.MATRIX_USER_ID && e.MATRIX_ACCESS_TOKEN && e.MATRIX_OWNER_ID
        ? {
            homeserverUrl: e.MATRIX_HOMESERVER_URL.replace(/\/+$/, ''),
            userId: e.MATRIX_USER_ID,
            accessToken: e.MATRIX_ACCESS_TOKEN,
            deviceId: e.MATRIX_DEVICE_ID,
            ownerId: e.MATRIX_OWNER_ID,
          }
        : null,
    appliance: e.APPLIANCE_STATE_DIR
      ? {
          stateDir: resolve(e.APPLIANCE_STATE_DIR),
          kioskTicket: e.APPLIANCE_KIOSK_TICKET,
          osRelease: e.APPLIANCE_OS_RELEASE,
        }
      : undefined,
  };
}
