import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { z } from 'zod';
import type { PasskeyRow } from '../db/schema.ts';
import type { NewPasskey } from './accountStore.ts';

/** The shape of a credential the browser sends back (registration or assertion), before verification. */
export const credentialJson = z
  .object({
    id: z.string().min(1),
    rawId: z.string(),
    type: z.literal('public-key'),
    response: z.record(z.string(), z.unknown()),
  })
  .loose();

/**
 * Passkeys with the control plane's host as relying party: credentials made here work nowhere
 * else, and assertions for any other origin or RP ID are refused. User verification is
 * preferred, not required, so security keys without a PIN still work.
 */
export function createWebAuthn(opts: { origin: string; rpID: string; rpName?: string }) {
  const { origin, rpID } = opts;
  const rpName = opts.rpName ?? 'Matrix OS';
  const TIMEOUT_MS = 120_000;

  return {
    rpID,
    registrationOptions(
      handle: string,
      userId: Uint8Array,
      existing: PasskeyRow[] = [],
    ): Promise<PublicKeyCredentialCreationOptionsJSON> {
      return generateRegistrationOptions({
        rpName,
        rpID,
        userName: handle,
        userDisplayName: handle,
        userID: userId as Uint8Array<ArrayBuffer>,
        attestationType: 'none',
        timeout: TIMEOUT_MS,
        excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
    },

    /** The new passkey, or null when the response does not verify (wrong challenge, origin, RP ID ...). */
    async verifyRegistration(
      response: RegistrationResponseJSON,
      expectedChallenge: string,
      name: string,
    ): Promise<NewPasskey | null> {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: false,
      }).catch(() => null);
      if (!result?.verified) return null;
      const { credential, credentialDeviceType, credentialBackedUp } = result.registrationInfo;
      return {
        id: credential.id,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: credential.transports ?? [],
        deviceType: credentialDeviceType,
        backedUp: credentialBackedUp,
        name,
      };
    },

    authenticationOptions(allowed: PasskeyRow[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return generateAuthenticationOptions({
        rpID,
        timeout: TIMEOUT_MS,
        userVerification: 'preferred',
        allowCredentials: allowed.map((p) => ({ id: p.id, transports: p.transports })),
      });
    },

    /** The authenticator's new counter when the assertion verifies; null otherwise (including a counter that went backwards). */
    async verifyAuthentication(
      response: AuthenticationResponseJSON,
      expectedChallenge: string,
      passkey: PasskeyRow,
    ): Promise<number | null> {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: false,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(passkey.publicKey),
          counter: passkey.counter,
          transports: passkey.transports as never,
        },
      }).catch(() => null);
      return result?.verified ? result.authenticationInfo.newCounter : null;
    },
  };
}

export type WebAuthn = ReturnType<typeof createWebAuthn>;
