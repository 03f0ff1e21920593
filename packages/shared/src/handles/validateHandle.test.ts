import { describe, expect, it } from 'vitest';
import { RESERVED_HANDLES, validateHandle } from './validateHandle.ts';

describe('validateHandle', () => {
  it.each(['alice', 'bob-2', 'a1b', 'x'.repeat(30), 'hamed'])('accepts %s', (h) => {
    expect(validateHandle(h)).toEqual({ ok: true, handle: h });
  });

  it.each([
    ['upper case', 'Alice'],
    ['dots', 'al.ice'],
    ['dot-dot', '..'],
    ['traversal', '../etc'],
    ['one char', 'a'],
    ['two chars', 'ab'],
    ['31 chars', 'x'.repeat(31)],
    ['64 chars', 'x'.repeat(64)],
    ['leading digit', '1abc'],
    ['leading hyphen', '-abc'],
    ['trailing hyphen', 'abc-'],
    ['double hyphen (punycode-like)', 'xn--abc'],
    // The gateway's own copy of the rule once let this through; it now imports this one.
    ['double hyphen inside', 'ab--cd'],
    ['unicode', 'ålice'],
    ['unicode lookalike', 'аlice'],
    ['emoji', 'bob😀'],
    ['space', 'al ice'],
    ['underscore', 'al_ice'],
    ['slash', 'al/ice'],
    ['empty', ''],
    ['NUL', 'ali\0ce'],
  ])('refuses %s', (_name, h) => {
    const r = validateHandle(h);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(10);
  });

  it.each([...RESERVED_HANDLES])('refuses reserved %s', (h) => {
    // Reserved names that are also too short fail for length; either way they are refused.
    expect(validateHandle(h).ok).toBe(false);
  });

  it('refuses non-strings', () => {
    expect(validateHandle(42).ok).toBe(false);
    expect(validateHandle(undefined).ok).toBe(false);
  });
});
