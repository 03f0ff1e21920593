import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { bytes, parseEnv, port } from '@matrixos/shared';
import { z } from 'zod';

/** A handle is a DNS label (the platform serves the instance at `{handle}.{domain}`). */
export const HANDLE_PATTERN = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;

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
    MATRIX_HANDLE: z
      .string()
      .regex(HANDLE_PATTERN, 'must be 3-30 lower-case letters, digits or hyphens, starting with a letter')
      .optional(),
    MAX_FILE_BYTES: bytes('10m'),
    // Platform mode: the LLM proxy and this instance's own proxy token. Single-user: Anthropic
    // itself and the owner's key (or none here, and the key set in the shell's settings).
    ANTHROPIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.anthropic.com'),
    ANTHROPIC_API_KEY: z.string().regex(/^\S+$/, 'must not contain whitespace').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Channels: the Bot API's root (a stand-in in tests), and the URL the instance is reached at
    // from outside (Telegram's webhook goes there; without one, single-user mode long-polls).
    TELEGRAM_API_ROOT: z.url({ protocol: /^https?$/ }).default('https://api.telegram.org'),
    MATRIXOS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
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
  logLevel: string;
  /** Where the kernel's Messages API calls go (no trailing slash). */
  anthropicBaseUrl: string;
  /** The key those calls carry: the proxy token in platform mode, the owner's own key otherwise. */
  anthropicApiKey: string | undefined;
  /** The Telegram Bot API's root URL (no trailing slash). */
  telegramApiRoot: string;
  /** The instance's public origin (no trailing slash), when it has one. */
  publicUrl: string | undefined;
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
    logLevel: e.LOG_LEVEL,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL.replace(/\/+$/, ''),
    anthropicApiKey: e.ANTHROPIC_API_KEY,
    telegramApiRoot: e.TELEGRAM_API_ROOT.replace(/\/+$/, ''),
    publicUrl: e.MATRIXOS_PUBLIC_URL?.replace(/\/+$/, ''),
  };
}
