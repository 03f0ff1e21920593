/**
 * Money is counted in integer micro-dollars (1 USD = 1,000,000): sums of many small costs stay
 * exact, where floating-point dollars would drift.
 */
export const MICROS_PER_USD = 1_000_000;
const MICROS_PER_CENT = 10_000;

/** Dollars (as typed by an admin, or as a JSON amount) to micro-dollars. */
export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

/** Micro-dollars to dollars, for JSON a person reads. */
export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * The one way an amount is written for a person, everywhere (refusals, notices, the kernel's
 * budget line, the dashboard): floored to the cent with two decimals, so that no text promises a
 * cent that is not there, and `<$0.01` for a positive amount under a cent, so that money left
 * never reads as `$0.00`. Nothing here is negative; a negative amount reads as `$0.00`.
 */
export function formatUsd(micros: number): string {
  if (!Number.isFinite(micros) || micros <= 0) return '$0.00';
  if (micros < MICROS_PER_CENT) return '<$0.01';
  const cents = Math.floor(micros / MICROS_PER_CENT);
  return `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
