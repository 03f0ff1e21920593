import { type Price, type Rates, WEB_SEARCH_MICROS } from './prices.ts';

/** Token counts of one request, each billing category counted once, as the API reports them. */
export interface TokenUsage {
  /** Uncached input (the API's `input_tokens`, which excludes cache writes and reads). */
  inputTokens: number;
  outputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
  webSearchRequests: number;
}

export const NO_USAGE: Readonly<TokenUsage> = {
  inputTokens: 0,
  outputTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  webSearchRequests: 0,
};

/** Tokens of the prompt, which is what long-context pricing looks at. */
export function promptTokens(u: TokenUsage): number {
  return u.inputTokens + u.cacheWrite5mTokens + u.cacheWrite1hTokens + u.cacheReadTokens;
}

export function ratesFor(price: Price, prompt: number): Rates {
  return price.longContext && prompt > price.longContext.aboveTokens ? price.longContext.rates : price.rates;
}

/**
 * The cost of a request in micro-dollars. Token counts times micro-dollars per MTok stay far
 * below 2^53, so the sum is exact; it is divided once and rounded up, so a request is never
 * billed below its price by more than nothing.
 */
export function costMicros(usage: TokenUsage, price: Price): number {
  const r = ratesFor(price, promptTokens(usage));
  const perMTok =
    usage.inputTokens * r.input +
    usage.outputTokens * r.output +
    usage.cacheWrite5mTokens * r.cacheWrite5m +
    usage.cacheWrite1hTokens * r.cacheWrite1h +
    usage.cacheReadTokens * r.cacheRead;
  return Math.ceil(perMTok / 1_000_000) + usage.webSearchRequests * WEB_SEARCH_MICROS;
}
