/**
 * `@matrixos/proxy/contract`: every message that crosses the proxy's boundary, as zod schemas,
 * and a typed client of its admin API. Consumers (the platform, the gateway) import these, never
 * a copy. It depends on zod alone, so it can be bundled into the instance's gateway.
 */
export * from './client.ts';
export * from './keys.ts';
export * from './money.ts';
export * from './notices.ts';
export * from './quotas.ts';
export * from './refusals.ts';
export * from './usage.ts';
