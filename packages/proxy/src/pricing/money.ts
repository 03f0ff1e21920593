/** Money lives in the contract (consumers format amounts with the same rule); re-exported for the proxy's own modules. */
export { formatUsd, MICROS_PER_USD, microsToUsd, usdToMicros } from '../contract/money.ts';
