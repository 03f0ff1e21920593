import { errors, jwtVerify } from 'jose';
import { INSTANCE_PASS_ISSUER, type InstancePassClaims, instancePassClaims } from './instancePass.ts';

export type PassCheck =
  | { ok: true; claims: InstancePassClaims }
  | { ok: false; reason: 'expired' | 'invalid' };

/**
 * Checks a pass for this instance: HS256 with its key only (no other algorithm is accepted), our
 * issuer, this host as audience, not expired. `expired` is told apart so that the gateway sends a
 * browser to refresh it rather than to sign in.
 */
export async function verifyInstancePass(
  jwt: string,
  expect: { key: Uint8Array; host: string },
  now: number = Date.now(),
): Promise<PassCheck> {
  try {
    const { payload } = await jwtVerify(jwt, expect.key, {
      algorithms: ['HS256'],
      issuer: INSTANCE_PASS_ISSUER,
      audience: expect.host,
      currentDate: new Date(now),
      clockTolerance: 5,
    });
    const claims = instancePassClaims.safeParse(payload);
    return claims.success ? { ok: true, claims: claims.data } : { ok: false, reason: 'invalid' };
  } catch (err) {
    return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}
