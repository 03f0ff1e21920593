import { readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { quotaBody } from '../contract/quotas.ts';
import { handleParam } from '../handleParam.ts';
import { requireAdmin } from '../keys/auth.ts';
import type { KeyStore } from '../keys/KeyStore.ts';
import { microsToUsd, usdToMicros } from '../pricing/money.ts';
import type { Ledger, Limits } from './Ledger.ts';

const usd = (micros: number | null) => (micros === null ? null : microsToUsd(micros));
const micros = (v: number | null | undefined) =>
  v === undefined ? undefined : v === null ? null : usdToMicros(v);

export function quotaView(handle: string, l: Limits) {
  return {
    handle,
    totalUsd: usd(l.totalMicros),
    dailyUsd: usd(l.dailyMicros),
    monthlyUsd: usd(l.monthlyMicros),
  };
}

/** Budgets, set by an admin: `total` is the lifetime allowance (the free tier to start with). */
export function quotaRoutes(ledger: Ledger, keys: KeyStore, adminToken: string | null) {
  const app = new Hono();

  app.get('/quotas/:handle', (c) => {
    requireAdmin(c, adminToken, keys);
    const handle = handleParam(c);
    return c.json(quotaView(handle, ledger.limitsOf(handle)));
  });

  app.post('/quotas/:handle', async (c) => {
    requireAdmin(c, adminToken, keys);
    const handle = handleParam(c);
    const body = await readJson(c, quotaBody);
    const patch: Partial<Limits> = {};
    const total = micros(body.totalUsd);
    const daily = micros(body.dailyUsd);
    const monthly = micros(body.monthlyUsd);
    if (total !== undefined) patch.totalMicros = total;
    if (daily !== undefined) patch.dailyMicros = daily;
    if (monthly !== undefined) patch.monthlyMicros = monthly;
    return c.json(quotaView(handle, ledger.setLimits(handle, patch)));
  });

  return app;
}
