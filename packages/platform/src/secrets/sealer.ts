import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/**
 * AES-256-GCM for secrets kept at rest in the database (instance tokens now; TOTP secrets and
 * users' own API keys later): a copied database file alone gives none of them away.
 * Format: `v1.<iv>.<ciphertext>.<tag>`, base64url parts.
 */
export function createSealer(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, ct, cipher.getAuthTag()]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open(sealed) {
      const [v, iv, ct, tag] = sealed.split('.');
      if (v !== 'v1' || iv === undefined || ct === undefined || tag === undefined)
        throw new Error('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}
