import { createLogger } from '@matrixos/shared';
import { describe, expect, it } from 'vitest';
import { openDb } from '../db/openDb.ts';
import { createJobWakes } from './jobWakes.ts';

function setup(sleeping: Set<string>) {
  let now = 1_000_000;
  const woken: string[] = [];
  const db = openDb(':memory:');
  const wakes = createJobWakes({
    db,
    wake: async (h) => {
      woken.push(h);
      sleeping.delete(h);
    },
    sleeping: (h) => sleeping.has(h),
    log: createLogger('test', 'silent'),
    clock: () => now,
    leadMs: 5_000,
  });
  return { wakes, woken, db, advance: (ms: number) => (now += ms), now: () => now };
}

describe('job wakes', () => {
  it('wakes a sleeping instance once, at its due time minus the lead', async () => {
    const { wakes, woken, advance, now } = setup(new Set(['alice']));
    wakes.set('alice', now() + 60_000);
    advance(54_000);
    expect(await wakes.tick()).toEqual([]);
    advance(1_000);
    expect(await wakes.tick()).toEqual(['alice']);
    expect(await wakes.tick()).toEqual([]);
    expect(woken).toEqual(['alice']);
  });

  it('leaves an awake instance alone (its own scheduler runs the job), and forgets a null report', async () => {
    const { wakes, woken, advance, now } = setup(new Set(['bob']));
    wakes.set('alice', now() + 1_000);
    wakes.set('bob', now() + 1_000);
    wakes.set('bob', null);
    advance(10_000);
    expect(await wakes.tick()).toEqual([]);
    expect(woken).toEqual([]);
  });

  it('keeps an instance awake around its due time only', () => {
    const { wakes, advance, now } = setup(new Set());
    wakes.set('alice', now() + 60_000);
    expect(wakes.dueSoon('alice')).toBe(false);
    advance(56_000);
    expect(wakes.dueSoon('alice')).toBe(true);
    advance(10_000);
    expect(wakes.dueSoon('alice')).toBe(false);
  });

  it('keeps due times across a restart (they live in the database)', async () => {
    const first = setup(new Set(['alice']));
    first.wakes.set('alice', first.now() + 1_000);
    const again = createJobWakes({
      db: first.db,
      wake: async () => undefined,
      sleeping: () => true,
      log: createLogger('test', 'silent'),
      clock: () => first.now() + 2_000,
    });
    expect(again.get('alice')).toBe(first.now() + 1_000);
    expect(await again.tick()).toEqual(['alice']);
  });

  it('retries a wake that failed, later', async () => {
    let now = 0;
    let fail = true;
    const woken: string[] = [];
    const wakes = createJobWakes({
      db: openDb(':memory:'),
      wake: async (h) => {
        if (fail) throw new Error('engine down');
        woken.push(h);
      },
      sleeping: () => true,
      log: createLogger('test', 'silent'),
      clock: () => now,
      leadMs: 0,
    });
    wakes.set('alice', 10);
    now = 10;
    expect(await wakes.tick()).toEqual(['alice']);
    fail = false;
    expect(await wakes.tick()).toEqual([]);
    now = 40_010;
    expect(await wakes.tick()).toEqual(['alice']);
    expect(woken).toEqual(['alice']);
  });
});
