import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../db/openDb.ts';
import { NO_USAGE } from '../pricing/cost.ts';
import { createLedger, type Settlement } from './Ledger.ts';

const paid = (costMicros: number): Settlement => ({
  outcome: 'ok',
  usageSource: 'reported',
  usage: { ...NO_USAGE, outputTokens: 1 },
  costMicros,
  upstreamStatus: 200,
  upstreamRequestId: null,
});

describe('ledger', () => {
  let dir: string;
  let db: Db;
  let clock: number;
  const defaults = { totalMicros: 5_000_000, dailyMicros: null, monthlyMicros: null };
  const ledgerWith = (maxInFlight = 5) => createLedger({ db, defaults, maxInFlight, now: () => clock });
  const admit = (l: ReturnType<typeof ledgerWith>, reserveMicros: number, handle = 'alice') =>
    l.admit({ handle, model: 'm', keySource: 'platform', stream: true, reserveMicros });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
    db = openDb(path.join(dir, 'proxy.db'));
    clock = Date.parse('2026-11-25T10:00:00Z');
  });
  afterEach(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the reservation while in flight and replaces it with the real cost', () => {
    const l = ledgerWith();
    const a = admit(l, 2_000_000);
    if (!a.ok) throw new Error(a.message);
    expect(l.balances('alice')[0]).toMatchObject({ spentMicros: 0, reservedMicros: 2_000_000 });
    l.settle(a.id, paid(300_000));
    expect(l.balances('alice')[0]).toMatchObject({ spentMicros: 300_000, reservedMicros: 0 });
    // Settling twice changes nothing.
    l.settle(a.id, paid(300_000));
    expect(l.balances('alice')[0]).toMatchObject({ spentMicros: 300_000, reservedMicros: 0 });
  });

  it('refuses a request whose reservation would cross a limit, counting what is held', () => {
    const l = ledgerWith();
    expect(admit(l, 3_000_000).ok).toBe(true);
    const refused = admit(l, 2_500_000);
    expect(refused).toMatchObject({ ok: false, reason: 'budget', period: 'total' });
    expect(refused.ok || refused.message).toMatch(/budget of \$5\.00 reached.*\$3\.00 held/);
    expect(admit(l, 2_000_000).ok).toBe(true);
  });

  it('applies daily and monthly limits per UTC period', () => {
    const l = ledgerWith();
    l.setLimits('alice', { dailyMicros: 1_000_000, monthlyMicros: 1_500_000 });
    const a = admit(l, 1_000_000);
    if (!a.ok) throw new Error();
    l.settle(a.id, paid(1_000_000));
    expect(admit(l, 1)).toMatchObject({ ok: false, period: 'day' });
    clock = Date.parse('2026-11-26T00:00:00Z');
    expect(admit(l, 600_000)).toMatchObject({ ok: false, period: 'month' });
    const b = admit(l, 500_000);
    expect(b.ok).toBe(true);
  });

  it('limits requests in flight per handle, freeing a slot on settlement', () => {
    const l = ledgerWith(2);
    const a = admit(l, 1);
    expect(admit(l, 1).ok).toBe(true);
    expect(admit(l, 1)).toMatchObject({ ok: false, reason: 'in_flight' });
    expect(admit(l, 1, 'bob').ok).toBe(true);
    if (!a.ok) throw new Error();
    l.settle(a.id, paid(1));
    expect(admit(l, 1).ok).toBe(true);
  });

  it('does not hold or charge the budget for requests on the user own key', () => {
    const l = ledgerWith();
    l.setLimits('alice', { totalMicros: 0 });
    const a = l.admit({
      handle: 'alice',
      model: 'm',
      keySource: 'own',
      stream: false,
      reserveMicros: 9_000_000,
    });
    if (!a.ok) throw new Error(a.message);
    l.settle(a.id, paid(1_000_000));
    expect(l.balances('alice')[0]).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
  });

  it('notifies each threshold once per period and limit', () => {
    const l = ledgerWith();
    const spend = (micros: number) => {
      const a = admit(l, micros);
      if (!a.ok) throw new Error(a.message);
      return l.settle(a.id, paid(micros));
    };
    expect(spend(3_000_000)).toEqual([]);
    expect(spend(1_000_000)).toEqual([
      {
        handle: 'alice',
        threshold: 80,
        period: 'total',
        periodKey: 'total',
        spentMicros: 4_000_000,
        limitMicros: 5_000_000,
      },
    ]);
    expect(spend(500_000)).toEqual([]);
    expect(spend(500_000).map((n) => n.threshold)).toEqual([100]);
    // A raised limit is a new budget: its thresholds fire again.
    l.setLimits('alice', { totalMicros: 6_000_000 });
    expect(spend(1).map((n) => n.threshold)).toEqual([80]);
  });

  it('releases reservations left by a crash', () => {
    const first = ledgerWith();
    admit(first, 1_000_000);
    admit(first, 2_000_000);
    expect(first.inFlight('alice')).toBe(2);
    const restarted = ledgerWith();
    expect(restarted.releaseInterrupted()).toBe(2);
    expect(restarted.inFlight('alice')).toBe(0);
    expect(restarted.balances('alice')[0]).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
  });
});
