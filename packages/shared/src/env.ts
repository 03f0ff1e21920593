import { z } from 'zod';

/**
 * Validates environment variables against a zod object schema. On failure it throws one error
 * naming every bad variable, so an operator fixes them all at once instead of one per restart.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings mean "unset" (docker compose and systemd produce them for blank lines).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `250ms`, `30s`, `5m`, `1h` or `0` (off), as milliseconds. */
export function parseDuration(text: string): number | null {
  if (text.trim() === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A size such as `256m`, `1g`, `512k` or a plain number of bytes. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+)\s*([kmg]?)b?$/i.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * BYTE_UNITS[m[2]!.toLowerCase()]!;
}

/** zod field for a duration variable. */
export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 5m or 1h (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });

/** zod field for a size variable. */
export const bytes = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const n = parseBytes(v);
      if (n === null) {
        ctx.addIssue({ code: 'custom', message: `expected a size like 256m, 1g or 65536 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

/** zod field for a TCP port. */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
