import { HttpError } from '@matrixos/shared';
import { Hono } from 'hono';
import type { Ledger } from '../budget/Ledger.ts';
import type { Db } from '../db/openDb.ts';
import { handleParam } from '../handleParam.ts';
import { identify, requireAdmin } from '../keys/auth.ts';
import type { KeyStore } from '../keys/KeyStore.ts';
import { usageReport, usageSummary } from './report.ts';

export function usageRoutes(
  db: Db,
  ledger: Ledger,
  keys: KeyStore,
  adminToken: string | null,
  now: () => number,
) {
  const app = new Hono();

  app.get('/usage/summary', (c) => {
    requireAdmin(c, adminToken, keys);
    return c.json(usageSummary(db, now()));
  });

  /** An instance reads its own usage (the kernel's "Budget: $X.XX remaining"); an admin reads anyone's. */
  app.get('/usage/:handle', (c) => {
    const handle = handleParam(c);
    const caller = identify(c, adminToken, keys);
    if (caller.kind === 'instance' && caller.handle !== handle) {
      throw new HttpError(403, 'forbidden', 'an instance can only read its own usage');
    }
    return c.json(usageReport(db, ledger, keys, handle, now()));
  });

  return app;
}
