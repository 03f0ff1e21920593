import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface Sealer {
  /** Encrypts `plaintext`, bound to `context` (a handle): a sealed value moved to another row fails to open. */
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** AES-256-GCM, format `v1.<iv>.<ciphertext>.<tag>` in base64url. */
export function createSealer(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', ...[iv, ct, cipher.getAuthTag()].map((b) => b.toString('base64url'))].join('.');
    },
    open(sealed, context) {
      const [v, iv, ct, tag] = sealed.split('.');
      if (v !== 'v1' || iv === undefined || ct === undefined || tag === undefined)
        throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}
