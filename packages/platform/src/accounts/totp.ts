import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/** RFC 6238 defaults that every authenticator app understands. */
const PERIOD_S = 30;
/**
 * Codes of the previous, current and next 30-second step are accepted (clock drift of up to
 * ±30 s on the phone), and never one older than or equal to the last step accepted.
 */
export const TOTP_WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secret: string, label = 'user'): TOTP {
  return new TOTP({
    issuer: 'Matrix OS',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_S,
    secret: Secret.fromBase32(secret),
  });
}

/** The `otpauth://` URI an authenticator app scans. */
export function totpUri(secret: string, label: string): string {
  return totp(secret, label).toString();
}

/**
 * The time step a code belongs to when it is valid and newer than `lastCounter`; null otherwise.
 * Storing the returned step as the new `lastCounter` makes every code single-use.
 */
export function verifyTotp(secret: string, code: string, lastCounter: number, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: now, window: TOTP_WINDOW });
  if (delta === null) return null;
  const counter = Math.floor(now / 1000 / PERIOD_S) + delta;
  return counter > lastCounter ? counter : null;
}

/** The code an authenticator would show at `now` (tests, and nothing else). */
export function totpCodeAt(secret: string, now: number): string {
  return totp(secret).generate({ timestamp: now });
}

/** What a person needs to add a new secret to their app: the QR code, and the secret as text. */
export async function totpSetup(
  secret: string,
  label: string,
): Promise<{ secret: string; uri: string; qrSvg: string }> {
  const uri = totpUri(secret, label);
  return {
    secret,
    uri,
    qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }),
  };
}
