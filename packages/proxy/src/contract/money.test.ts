import { describe, expect, it } from 'vitest';
import { formatUsd, usdToMicros } from './money.ts';

describe('formatUsd', () => {
  it.each([
    [0, '$0.00'],
    [-5, '$0.00'],
    [Number.NaN, '$0.00'],
    [1, '<$0.01'],
    [9_700, '<$0.01'],
    [9_999, '<$0.01'],
    [10_000, '$0.01'],
    [19_999, '$0.01'],
    [170_000, '$0.17'],
    [999_999, '$0.99'],
    [1_000_000, '$1.00'],
    [4_982_000, '$4.98'],
    [7_220_000, '$7.22'],
    [123_456_789_000, '$123456.78'],
  ])('%d micro-dollars read as %s', (micros, text) => {
    expect(formatUsd(micros)).toBe(text);
  });

  it('floors dollars typed as floats without drifting below the cent', () => {
    expect(formatUsd(usdToMicros(0.29))).toBe('$0.29');
    expect(formatUsd(usdToMicros(4.982))).toBe('$4.98');
  });
});
