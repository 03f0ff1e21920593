import type Anthropic from '@anthropic-ai/sdk';
import { type Logger, limitBody, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import type { GatewayConfig } from '../config.ts';
import { changeSchema, keySchema } from '../contract/bodies.ts';
import { budgetLine, fetchBudget } from '../kernel/budget.ts';
import type { OwnKey, OwnKeyStatus } from '../kernel/own-key.ts';
import { readAiSettings, writeAiSettings } from '../kernel/settings.ts';

const MODELS_TIMEOUT_MS = 3_000;

/**
 * The shell's settings: the AI model and limits (`system/config.json`), the owner's own
 * Anthropic key (sealed here in single-user mode, kept by the LLM proxy in platform mode: the
 * key passes through this route once and is not kept in the browser), and what is left of the
 * budget.
 */
export function settingsRoutes({
  config,
  log,
  ownKey,
  client,
}: {
  config: Pick<GatewayConfig, 'home' | 'handle' | 'mode' | 'anthropicBaseUrl' | 'anthropicApiKey'>;
  log: Logger;
  ownKey: OwnKey;
  /** The kernel's client for the current key, to list models. */
  client(): Promise<Anthropic | null>;
}): Hono {
  const app = new Hono();

  app.get('/api/settings', async (c) => {
    const [ai, key, models, budget] = await Promise.all([
      readAiSettings(config.home, log),
      ownKey.status().catch((err: Error): OwnKeyStatus & { error: string } => ({
        configured: false,
        hint: null,
        error: err.message,
      })),
      listModels(),
      config.mode === 'platform' && config.anthropicApiKey
        ? fetchBudget({
            baseUrl: config.anthropicBaseUrl,
            handle: config.handle,
            apiKey: config.anthropicApiKey,
            log,
          })
        : null,
    ]);
    return c.json({
      handle: config.handle,
      mode: config.mode,
      ai,
      ownKey: key,
      // Single-user mode: a key from the environment is used when none is set here.
      environmentKey: config.mode === 'single' && config.anthropicApiKey !== undefined,
      budget: budget && { ...budget, line: budgetLine(budget) },
      models,
    });
  });

  // Both bodies are a few small fields: nothing bigger is read.
  app.put('/api/settings', limitBody(4 * 1024), async (c) => {
    const change = await readJson(c, changeSchema);
    return c.json({ ai: await writeAiSettings(config.home, log, change) });
  });

  app.put('/api/settings/anthropic-key', limitBody(4 * 1024), async (c) => {
    const { apiKey } = await readJson(c, keySchema);
    return c.json(await ownKey.set(apiKey));
  });

  app.delete('/api/settings/anthropic-key', async (c) => {
    await ownKey.remove();
    return c.body(null, 204);
  });

  /** The models the key may use, for the settings' suggestions; none when that cannot be known. */
  async function listModels(): Promise<{ id: string; name: string }[]> {
    try {
      const anthropic = await client();
      if (!anthropic) return [];
      const page = await anthropic.models.list({ limit: 100 }, { timeout: MODELS_TIMEOUT_MS, maxRetries: 0 });
      return page.data.map((m) => ({ id: m.id, name: m.display_name }));
    } catch (err) {
      log.debug({ err }, 'could not list the models');
      return [];
    }
  }

  return app;
}
