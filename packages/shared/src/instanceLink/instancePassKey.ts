import { hkdfSync } from 'node:crypto';

/**
 * The key an instance's passes are signed with: derived from that instance's own API token, so
 * each instance has its own (one tenant's key says nothing about another's) and a token rotation
 * invalidates every pass at once. HKDF-SHA256, a fixed label; 32 bytes for HS256.
 */
export function instancePassKey(instanceToken: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', instanceToken, '', 'matrixos instance pass v1', 32));
}
