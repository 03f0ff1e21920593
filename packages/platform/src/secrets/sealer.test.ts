import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSealer } from './sealer.ts';

describe('createSealer', () => {
  const sealer = createSealer(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = sealer.seal('mxi_secret-token');
    expect(sealed).not.toContain('mxi_secret-token');
    expect(sealer.open(sealed)).toBe('mxi_secret-token');
  });

  it('uses a fresh IV every time', () => {
    expect(sealer.seal('same')).not.toBe(sealer.seal('same'));
  });

  it('refuses a tampered ciphertext', () => {
    const [v, iv, ct, tag] = sealer.seal('payload').split('.');
    const flipped = Buffer.from(ct!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => sealer.open([v, iv, flipped.toString('base64url'), tag].join('.'))).toThrow();
  });

  it('refuses a secret sealed with another key', () => {
    expect(() => createSealer(randomBytes(32)).open(sealer.seal('x'))).toThrow();
  });
});
