import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../db/openDb.ts';
import { requests } from '../db/schema.ts';
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

/** A request that costs `micros` whatever its max_tokens. */
const fixed = (micros: number, serverTools = false) => ({
  model: 'm',
  stream: true,
  serverTools,
  maxTokens: 1,
  minTokens: 1,
  costOf: () => micros,
});

describe('ledger', () => {
  let dir: string;
  let db: Db;
  let clock: number;
  const defaults = { totalMicros: 5_000_000, dailyMicros: null, monthlyMicros: null };
  const ledgerWith = (maxInFlight = 5) => createLedger({ db, defaults, maxInFlight, now: () => clock });
  const admit = (l: ReturnType<typeof ledgerWith>, reserveMicros: number, handle = 'alice') =>
    l.admit({ handle, keySource: 'platform', ...fixed(reserveMicros) });

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
    expect(refused).toMatchObject({ ok: false, code: 'budget_exhausted', period: 'total' });
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
    expect(admit(l, 1)).toMatchObject({ ok: false, code: 'too_many_in_flight' });
    expect(admit(l, 1, 'bob').ok).toBe(true);
    if (!a.ok) throw new Error();
    l.settle(a.id, paid(1));
    expect(admit(l, 1).ok).toBe(true);
  });

  it('does not hold or charge the budget for requests on the user own key', () => {
    const l = ledgerWith();
    l.setLimits('alice', { totalMicros: 0 });
    const a = l.admit({ handle: 'alice', keySource: 'own', ...fixed(9_000_000) });
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

  it('bills requests left by a crash what they recorded, and releases what they held', () => {
    const first = ledgerWith();
    const a = admit(first, 1_000_000);
    admit(first, 2_000_000);
    if (!a.ok) throw new Error(a.message);
    first.record(a.id, { ...NO_USAGE, inputTokens: 1000, outputTokens: 10 });
    expect(first.inFlight('alice')).toBe(2);
    const restarted = ledgerWith();
    const priced: number[] = [];
    const { count } = restarted.settleInterrupted((row, usage) => {
      priced.push(row.id);
      return usage.inputTokens + usage.outputTokens * 5;
    });
    expect(count).toBe(2);
    // Only the one with recorded usage is priced; the other is free.
    expect(priced).toEqual([a.id]);
    expect(restarted.inFlight('alice')).toBe(0);
    expect(restarted.balances('alice')[0]).toMatchObject({ spentMicros: 1050, reservedMicros: 0 });
    expect(
      db
        .select()
        .from(requests)
        .all()
        .map((r) => [r.state, r.usageSource, r.costMicros]),
    ).toEqual([
      ['interrupted', 'partial', 1050],
      ['interrupted', 'none', 0],
    ]);
  });

  it('takes a slot before the body is known, refuses at once when nothing is left, and gives it back', () => {
    const l = ledgerWith(1);
    const h = l.hold({ handle: 'alice', keySource: 'platform' });
    if (!h.ok) throw new Error(h.message);
    expect(l.hold({ handle: 'alice', keySource: 'platform' })).toMatchObject({
      ok: false,
      code: 'too_many_in_flight',
    });
    l.drop(h.id);
    expect(l.inFlight('alice')).toBe(0);
    l.setLimits('alice', { totalMicros: 0 });
    expect(l.hold({ handle: 'alice', keySource: 'platform' })).toMatchObject({
      ok: false,
      code: 'budget_exhausted',
      period: 'total',
    });
    expect(l.hold({ handle: 'alice', keySource: 'own' }).ok).toBe(true);
  });

  it('caps max_tokens to what the tightest budget covers, down to the minimum, and refuses below it', () => {
    const l = ledgerWith();
    // 9,700 micro-dollars left; the prompt costs 1,000 and each output token 15.
    l.setLimits('alice', { totalMicros: 9_700 });
    const ask = { model: 'm', stream: true, serverTools: false, costOf: (t: number) => 1000 + 15 * t };
    const a = l.admit({ handle: 'alice', keySource: 'platform', ...ask, maxTokens: 16_000, minTokens: 128 });
    expect(a).toMatchObject({ ok: true, maxTokens: 580 });
    if (!a.ok) throw new Error();
    expect(l.balances('alice')[0]).toMatchObject({ reservedMicros: 1000 + 15 * 580 });
    // 0 left now: the next is refused before its body.
    expect(
      l.admit({ handle: 'alice', keySource: 'platform', ...ask, maxTokens: 100, minTokens: 100 }),
    ).toMatchObject({
      ok: false,
      code: 'budget_exhausted',
    });
    l.settle(a.id, paid(7_000));
    // 2,700 left: 113 tokens fit, fewer than the minimum of 128.
    const short = l.admit({
      handle: 'alice',
      keySource: 'platform',
      ...ask,
      maxTokens: 16_000,
      minTokens: 128,
    });
    expect(short).toMatchObject({ ok: false, code: 'budget_exhausted', period: 'total' });
    expect(short.ok || short.message).toBe(
      'budget of <$0.01 reached: <$0.01 spent, and even a short answer to this request may cost up to <$0.01',
    );
    expect(l.inFlight('alice')).toBe(0);
    expect(
      l.admit({ handle: 'alice', keySource: 'platform', ...ask, maxTokens: 16_000, minTokens: 100 }),
    ).toMatchObject({
      ok: true,
      maxTokens: 113,
    });
  });

  it('runs requests with server tools one at a time per handle', () => {
    const l = ledgerWith();
    const a = l.admit({ handle: 'alice', keySource: 'platform', ...fixed(1, true) });
    if (!a.ok) throw new Error(a.message);
    expect(l.admit({ handle: 'alice', keySource: 'platform', ...fixed(1, true) })).toMatchObject({
      ok: false,
      code: 'server_tool_in_flight',
    });
    expect(l.admit({ handle: 'alice', keySource: 'platform', ...fixed(1) }).ok).toBe(true);
    expect(l.admit({ handle: 'bob', keySource: 'platform', ...fixed(1, true) }).ok).toBe(true);
    l.settle(a.id, paid(1));
    expect(l.admit({ handle: 'alice', keySource: 'platform', ...fixed(1, true) }).ok).toBe(true);
  });
});
