/**
 * Money is counted in integer micro-dollars (1 USD = 1,000,000): sums of many small costs stay
 * exact, where floating-point dollars would drift.
 */
export const MICROS_PER_USD = 1_000_000;

/** Dollars (as typed by an admin, at most 6 decimals) to micro-dollars. */
export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

/** Micro-dollars to dollars, for JSON a person reads. */
export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/** `$1.23` for a person; sub-cent amounts keep four decimals so they do not read as `$0.00`. */
export function formatUsd(micros: number): string {
  const usd = micros / MICROS_PER_USD;
  return `$${usd !== 0 && Math.abs(usd) < 0.01 ? usd.toFixed(4) : usd.toFixed(2)}`;
}
