import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

const PLANS = JSON.stringify([{ id: 'pro', name: 'Pro', priceId: 'price_1', monthlyUsd: 20 }]);
const ON = { STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_WEBHOOK_SECRET: 'whsec_123456', BILLING_PLANS: PLANS };

describe('billing settings', () => {
  const off: [string, Record<string, string>][] = [
    ['nothing set', {}],
    ['no webhook secret', { ...ON, STRIPE_WEBHOOK_SECRET: '' }],
    ['no key', { ...ON, STRIPE_SECRET_KEY: '' }],
    ['no plans', { ...ON, BILLING_PLANS: '' }],
  ];
  it.each(off)('is off with %s', (_name, env) => {
    expect(loadConfig(env).billing).toBeNull();
  });

  it('is on with a key, a webhook secret and plans, with its defaults', () => {
    expect(loadConfig(ON).billing).toMatchObject({
      api: null,
      plans: [{ id: 'pro', monthlyUsd: 20 }],
      freeUsd: 5,
      graceMs: 7 * 86_400_000,
      trialDays: 0,
      meterEvent: null,
      retentionMs: 0,
    });
    expect(loadConfig({ ...ON, STRIPE_API_URL: 'http://127.0.0.1:12111' }).billing?.api).toEqual({
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
  });

  it('reads the instance limits a plan gives, in the units of INSTANCE_MEMORY and INSTANCE_CPUS', () => {
    const plans = JSON.stringify([
      { id: 'pro', name: 'Pro', priceId: 'price_1', monthlyUsd: 20, memory: '1g', cpus: 2 },
    ]);
    expect(loadConfig({ ...ON, BILLING_PLANS: plans }).billing?.plans[0]).toMatchObject({
      memory: 1024 ** 3,
      cpus: 2,
    });
  });

  const bad: [string, string][] = [
    ['not JSON', '[{'],
    ['empty', '[]'],
    ['no price', JSON.stringify([{ id: 'pro', name: 'Pro', monthlyUsd: 20 }])],
    ['a plan called free', JSON.stringify([{ id: 'free', name: 'F', priceId: 'price_1', monthlyUsd: 1 }])],
    [
      'two plans with one id',
      JSON.stringify([
        { id: 'pro', name: 'A', priceId: 'price_1', monthlyUsd: 1 },
        { id: 'pro', name: 'B', priceId: 'price_2', monthlyUsd: 2 },
      ]),
    ],
    [
      'a memory limit that is no size',
      JSON.stringify([{ id: 'pro', name: 'P', priceId: 'price_1', monthlyUsd: 1, memory: 'lots' }]),
    ],
    [
      'a memory limit too small to run',
      JSON.stringify([{ id: 'pro', name: 'P', priceId: 'price_1', monthlyUsd: 1, memory: '16m' }]),
    ],
    ['no CPU', JSON.stringify([{ id: 'pro', name: 'P', priceId: 'price_1', monthlyUsd: 1, cpus: 0 }])],
    ['an unknown field', JSON.stringify([{ id: 'pro', name: 'P', priceId: 'price_1', monthlyUsd: 1, x: 1 }])],
  ];
  it.each(bad)('refuses plans that are %s', (_name, plans) => {
    expect(() => loadConfig({ ...ON, BILLING_PLANS: plans })).toThrow(/BILLING_PLANS/);
  });
});
