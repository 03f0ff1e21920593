import { SignJWT } from 'jose';
import { INSTANCE_PASS_ISSUER, INSTANCE_PASS_TTL_S } from './instancePass.ts';

/** A pass for `host`, signed with the instance's key (`instancePassKey`). Platform side. */
export function signInstancePass(
  key: Uint8Array,
  pass: { host: string; userId: string; sessionId: string; role: 'user' | 'admin'; ttlS?: number },
  now: number = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ sid: pass.sessionId, role: pass.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(INSTANCE_PASS_ISSUER)
    .setAudience(pass.host)
    .setSubject(pass.userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (pass.ttlS ?? INSTANCE_PASS_TTL_S))
    .sign(key);
}
