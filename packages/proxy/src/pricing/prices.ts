import { usdToMicros } from './money.ts';

/** Rates in micro-dollars per million tokens (so $3 / MTok is 3_000_000). */
export interface Rates {
  input: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
}

export interface Price {
  /** Model ids this row prices; their dated snapshots (`<id>-YYYYMMDD`) match too. */
  models: readonly string[];
  /** First UTC day the row applies; a later row for the same model replaces it from its own date. */
  effectiveFrom: string;
  rates: Rates;
  /**
   * When the prompt (input + cache writes + cache reads) is longer than `aboveTokens`, every
   * token of the request, output included, is billed at these rates instead.
   */
  longContext?: { aboveTokens: number; rates: Rates };
}

/** $10 per 1,000 server-side web searches. */
export const WEB_SEARCH_MICROS = 10_000;

/** Dollars per million tokens, in the order of the columns of Anthropic's pricing table. */
function perMTok(
  input: number,
  cacheWrite5m: number,
  cacheWrite1h: number,
  cacheRead: number,
  output: number,
): Rates {
  return {
    input: usdToMicros(input),
    cacheWrite5m: usdToMicros(cacheWrite5m),
    cacheWrite1h: usdToMicros(cacheWrite1h),
    cacheRead: usdToMicros(cacheRead),
    output: usdToMicros(output),
  };
}

/**
 * Anthropic's list prices for the Claude API, copied from the "Model pricing" table of
 * https://platform.claude.com/docs/en/about-claude/pricing and the model overview pages under
 * https://platform.claude.com/docs/en/models/ (read 2026-11-25; long-context rates from the same
 * page's "Long context pricing" section). `effectiveFrom` is the release day of the row's first
 * model where the docs give it, else the day the price was read. docs/proxy.md explains how to add
 * or change a row. A model missing here is refused.
 */
export const PRICES: readonly Price[] = [
  {
    models: ['claude-fable-5-1', 'claude-mythos-5-1'],
    effectiveFrom: '2026-11-25',
    rates: perMTok(10, 12.5, 20, 0.25, 50),
  },
  {
    models: ['claude-fable-5', 'claude-mythos-5'],
    effectiveFrom: '2026-11-25',
    rates: perMTok(10, 12.5, 20, 1, 50),
  },
  { models: ['claude-opus-5-5'], effectiveFrom: '2026-11-25', rates: perMTok(4, 5, 8, 0.2, 20) },
  { models: ['claude-opus-5'], effectiveFrom: '2026-07-24', rates: perMTok(5, 6.25, 10, 0.5, 25) },
  { models: ['claude-sonnet-5-5'], effectiveFrom: '2026-11-25', rates: perMTok(2, 2.5, 4, 0.2, 10) },
  { models: ['claude-sonnet-5'], effectiveFrom: '2026-06-30', rates: perMTok(2, 2.5, 4, 0.2, 10) },
  {
    models: ['claude-opus-4-8', 'claude-opus-4-7', 'claude-opus-4-6', 'claude-opus-4-5'],
    effectiveFrom: '2025-11-24',
    rates: perMTok(5, 6.25, 10, 0.5, 25),
  },
  { models: ['claude-sonnet-4-6'], effectiveFrom: '2026-02-17', rates: perMTok(3, 3.75, 6, 0.3, 15) },
  {
    models: ['claude-sonnet-4-5'],
    effectiveFrom: '2025-09-29',
    rates: perMTok(3, 3.75, 6, 0.3, 15),
    longContext: { aboveTokens: 200_000, rates: perMTok(6, 7.5, 12, 0.6, 22.5) },
  },
  { models: ['claude-haiku-4-5'], effectiveFrom: '2025-10-15', rates: perMTok(1, 1.25, 2, 0.1, 5) },
];

/** `claude-x-YYYYMMDD` snapshots of a model id. */
const SNAPSHOT = /^-\d{8}$/;

function matches(model: string, id: string): boolean {
  return model === id || (model.startsWith(id) && SNAPSHOT.test(model.slice(id.length)));
}

/** The price in force for `model` at `at`, or null when the table has none (the caller refuses). */
export function findPrice(model: string, at: Date, table: readonly Price[] = PRICES): Price | null {
  const day = at.toISOString().slice(0, 10);
  let best: Price | null = null;
  for (const row of table) {
    if (row.effectiveFrom > day || !row.models.some((id) => matches(model, id))) continue;
    if (!best || row.effectiveFrom > best.effectiveFrom) best = row;
  }
  return best;
}
