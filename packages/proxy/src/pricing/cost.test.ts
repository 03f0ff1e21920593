import { describe, expect, it } from 'vitest';
import { costMicros, NO_USAGE } from './cost.ts';
import { formatUsd } from './money.ts';
import { findPrice, PRICES, type Price } from './prices.ts';

const at = new Date('2026-11-25T12:00:00Z');
const price = (model: string) => {
  const p = findPrice(model, at);
  if (!p) throw new Error(`no price for ${model}`);
  return p;
};

describe('costMicros', () => {
  it('prices every token category of a request to the micro-dollar', () => {
    const usage = {
      inputTokens: 1000, // $3 / MTok
      outputTokens: 500, // $15 / MTok
      cacheWrite5mTokens: 2000, // $3.75 / MTok
      cacheWrite1hTokens: 1000, // $6 / MTok
      cacheReadTokens: 10_000, // $0.30 / MTok
      webSearchRequests: 0,
    };
    // 0.003 + 0.0075 + 0.0075 + 0.006 + 0.003 = $0.027
    expect(costMicros(usage, price('claude-sonnet-4-5-20250929'))).toBe(27_000);
    // Floored to the cent for a person (one rule everywhere: never promise a cent that is not there).
    expect(formatUsd(27_000)).toBe('$0.02');
    // Opus 5.5 reads its cache at 0.05x input: $4, $20, $5, $8, $0.20 per MTok.
    expect(costMicros(usage, price('claude-opus-5-5'))).toBe(4000 + 10_000 + 10_000 + 8000 + 2000);
  });

  it('adds up to the cent over many requests without float drift', () => {
    const usage = { ...NO_USAGE, inputTokens: 1234, outputTokens: 567, cacheReadTokens: 8901 };
    // Haiku 4.5: 1234 * 1 + 567 * 5 + 8901 * 0.1 = 4959.1 micro-dollars, billed 4960.
    const one = costMicros(usage, price('claude-haiku-4-5'));
    expect(one).toBe(4960);
    expect(Array.from({ length: 1000 }, () => one).reduce((a, b) => a + b, 0)).toBe(4_960_000);
  });

  it('rounds a fraction of a micro-dollar up, never down to free', () => {
    expect(costMicros({ ...NO_USAGE, cacheReadTokens: 1 }, price('claude-haiku-4-5-20251001'))).toBe(1);
  });

  it('bills the whole request at long-context rates past 200k prompt tokens', () => {
    const p = price('claude-sonnet-4-5');
    const usage = { ...NO_USAGE, inputTokens: 150_000, cacheReadTokens: 60_000, outputTokens: 1000 };
    expect(costMicros(usage, p)).toBe(150_000 * 6 + 60_000 * 0.6 + 1000 * 22.5);
    expect(costMicros({ ...usage, cacheReadTokens: 50_000 }, p)).toBe(150_000 * 3 + 50_000 * 0.3 + 1000 * 15);
  });

  it('charges server-side web searches', () => {
    expect(costMicros({ ...NO_USAGE, webSearchRequests: 3 }, price('claude-opus-4-5'))).toBe(30_000);
  });
});

describe('findPrice', () => {
  it('matches ids and their dated snapshots, not neighbouring models', () => {
    expect(findPrice('claude-opus-4-5-20251101', at)?.rates.input).toBe(5_000_000);
    expect(findPrice('claude-sonnet-5-5', at)?.rates.output).toBe(10_000_000);
    expect(findPrice('claude-sonnet-5', at)?.rates.cacheRead).toBe(200_000);
    expect(findPrice('claude-sonnet-4-5-foo', at)).toBeNull();
    expect(findPrice('claude-opus-4-1-20250805', at)).toBeNull();
    expect(findPrice('gpt-4o', at)).toBeNull();
    expect(findPrice('claude-opus-4-5x', at)).toBeNull();
  });

  it('uses the row in force on the day of the request', () => {
    const rates = PRICES[0]!.rates;
    const table: Price[] = [
      { models: ['m'], effectiveFrom: '2026-01-01', rates },
      { models: ['m'], effectiveFrom: '2026-06-01', rates: { ...rates, input: 1 } },
    ];
    expect(findPrice('m', new Date('2025-12-31T23:59:59Z'), table)).toBeNull();
    expect(findPrice('m', new Date('2026-05-31T23:59:59Z'), table)?.rates.input).toBe(rates.input);
    expect(findPrice('m', new Date('2026-06-01T00:00:00Z'), table)?.rates.input).toBe(1);
  });

  it('keeps every row consistent: cache reads cheapest, then input, 5-minute and 1-hour writes', () => {
    for (const row of PRICES) {
      for (const r of [row.rates, row.longContext?.rates].filter((x) => x !== undefined)) {
        expect(r.cacheRead).toBeLessThan(r.input);
        expect(r.cacheWrite5m).toBeGreaterThan(r.input);
        expect(r.cacheWrite1h).toBeGreaterThan(r.cacheWrite5m);
        expect(r.output).toBeGreaterThan(r.input);
      }
    }
  });

  it('follows the published multipliers (5m write 1.25x, 1h write 2x input) for the current models', () => {
    for (const model of ['claude-sonnet-4-5', 'claude-opus-4-5', 'claude-haiku-4-5', 'claude-opus-5']) {
      const r = price(model).rates;
      expect(r.cacheWrite5m).toBe(r.input * 1.25);
      expect(r.cacheWrite1h).toBe(r.input * 2);
      expect(r.cacheRead).toBe(r.input / 10);
    }
  });
});
