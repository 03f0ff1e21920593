import { readFile } from 'node:fs/promises';
import { HttpError, type Logger } from '@matrixos/shared';
import { z } from 'zod';
import { writeTextAtomic } from '../files/write.ts';
import { homePaths } from '../home/layout.ts';

/** Claude Sonnet 5.5: the current Sonnet, and one the LLM proxy has a price for. */
export const DEFAULT_MODEL = 'claude-sonnet-5-5';

export const MODEL_PATTERN = /^[a-z0-9][a-z0-9.-]{1,99}$/;

/** The `ai` section of `system/config.json`. */
export const aiSettingsSchema = z.object({
  model: z.string().regex(MODEL_PATTERN, 'must be a model id like claude-sonnet-5-5').default(DEFAULT_MODEL),
  // Enough for a whole app in one create_app call; the proxy reserves this much output per request.
  maxTokens: z.number().int().min(256).max(128_000).default(16_000),
  // Model calls per message of the owner: each tool round trip is one more.
  maxTurns: z.number().int().min(1).max(50).default(12),
});

export type AiSettings = z.infer<typeof aiSettingsSchema>;

/**
 * The AI settings from `system/config.json`. The file is the owner's: a missing section takes
 * the defaults, and a broken one is reported in the log and replaced by them, field by field.
 */
export async function readAiSettings(home: string, log: Logger): Promise<AiSettings> {
  const { config } = await readConfig(home, log);
  const section = config.ai && typeof config.ai === 'object' ? (config.ai as Record<string, unknown>) : {};
  const whole = aiSettingsSchema.safeParse(section);
  if (whole.success) return whole.data;
  log.warn(
    { issues: whole.error.issues },
    'system/config.json: invalid ai settings; using defaults for them',
  );
  const fields = aiSettingsSchema.shape;
  return {
    model: fields.model.safeParse(section.model).data ?? DEFAULT_MODEL,
    maxTokens: fields.maxTokens.safeParse(section.maxTokens).data ?? fields.maxTokens.parse(undefined),
    maxTurns: fields.maxTurns.safeParse(section.maxTurns).data ?? fields.maxTurns.parse(undefined),
  };
}

/** Changes some AI settings, keeping everything else in `system/config.json` as it was. */
export async function writeAiSettings(
  home: string,
  log: Logger,
  change: Partial<AiSettings>,
): Promise<AiSettings> {
  const { config, broken } = await readConfig(home, log);
  // Rewriting a file that does not parse would throw away whatever the owner had in it.
  if (broken)
    throw new HttpError(409, 'config_invalid', 'system/config.json is not valid JSON: fix it first');
  const ai = { ...(config.ai && typeof config.ai === 'object' ? config.ai : {}), ...change };
  await writeTextAtomic(
    homePaths(home).systemConfig,
    `${JSON.stringify({ ...config, ai }, null, 2)}\n`,
    1024 * 1024,
  );
  return readAiSettings(home, log);
}

async function readConfig(
  home: string,
  log: Logger,
): Promise<{ config: Record<string, unknown>; broken: boolean }> {
  let text: string;
  try {
    text = await readFile(homePaths(home).systemConfig, 'utf8');
  } catch {
    return { config: {}, broken: false };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { config: parsed as Record<string, unknown>, broken: false };
    }
  } catch {}
  log.warn('system/config.json is not a JSON object; using the default AI settings');
  return { config: {}, broken: true };
}
