import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain browser JS, checked by tsc through its JSDoc
import { formatBytes, formatUsd, sentence, timeAgo, usdToMicros } from '../browser/format.js';

describe('formatUsd (micro-dollars): floored to the cent, "<$0.01" under a cent', () => {
  it.each([
    [0, '$0.00'],
    [1, '<$0.01'],
    [9_700, '<$0.01'], // $0.0097 left: not nothing, and not a cent
    [9_999, '<$0.01'],
    [10_000, '$0.01'],
    [19_999, '$0.01'], // floored, never rounded up to a cent that is not there
    [27_000, '$0.02'],
    [1_000_000, '$1.00'],
    [4_999_999, '$4.99'],
    [5_000_000, '$5.00'],
    [123_456_789_000, '$123456.78'],
    [-1, '-<$0.01'],
    [-2_500_000, '-$2.50'],
    [Number.NaN, '—'],
  ])('%d µ$ → %s', (micros, shown) => {
    expect(formatUsd(micros)).toBe(shown);
  });

  it('reads the dollar floats the APIs give without float surprises', () => {
    expect(formatUsd(usdToMicros(0.0097))).toBe('<$0.01');
    expect(formatUsd(usdToMicros(0.29))).toBe('$0.29');
    expect(formatUsd(usdToMicros(4.99))).toBe('$4.99');
  });
});

describe('the other shared formats', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [256 * 1024 ** 2, '256 MiB'],
    [1.5 * 1024 ** 3, '1.5 GiB'],
  ])('formatBytes(%d) → %s', (n, shown) => {
    expect(formatBytes(n)).toBe(shown);
  });

  it('says times relative to now, and errors as sentences', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(timeAgo('2026-12-01T11:59:50Z', now)).toBe('just now');
    expect(timeAgo('2026-12-01T11:55:00Z', now)).toBe('5 minutes ago');
    expect(timeAgo('2026-11-30T12:00:00Z', now)).toBe('yesterday');
    expect(sentence('that code is not right')).toBe('That code is not right.');
  });
});
