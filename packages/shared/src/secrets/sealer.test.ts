import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSealer } from './sealer.ts';

describe('sealer', () => {
  const sealer = createSealer(randomBytes(32));

  it('round-trips and never shows the plaintext', () => {
    const sealed = sealer.seal('sk-ant-secret-value', 'alice');
    expect(sealed).not.toContain('sk-ant');
    expect(sealer.open(sealed, 'alice')).toBe('sk-ant-secret-value');
    expect(sealer.seal('sk-ant-secret-value', 'alice')).not.toBe(sealed);
  });

  it("refuses a value moved to another handle's row, or tampered with", () => {
    const sealed = sealer.seal('sk-ant-secret-value', 'alice');
    expect(() => sealer.open(sealed, 'bob')).toThrow();
    const [v, iv, ct, tag] = sealed.split('.');
    const flipped = Buffer.from(ct!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => sealer.open([v, iv, flipped.toString('base64url'), tag].join('.'), 'alice')).toThrow();
    expect(() => createSealer(randomBytes(32)).open(sealed, 'alice')).toThrow();
  });
});
