import { describe, expect, it } from 'vitest';
import { GOOGLE_ISSUER, providerList, providerSpecs } from './providerSpecs.ts';

const kc = {
  id: 'keycloak',
  name: 'Keycloak',
  issuer: 'https://kc.example/realms/a/',
  clientId: 'c',
  clientSecret: 's',
};

describe('providerSpecs', () => {
  it.each([
    ['nothing configured: off', {}, []],
    [
      'Google preset',
      { googleClientId: 'g', googleClientSecret: 'gs' },
      [{ id: 'google', name: 'Google', issuer: GOOGLE_ISSUER, clientId: 'g', clientSecret: 'gs' }],
    ],
    ['a listed provider', { providers: [kc] }, [kc]],
  ])('%s', (_name, env, expected) => {
    expect(providerSpecs(env)).toEqual(expected);
  });

  it.each([
    ['half a Google client', { googleClientId: 'g' }, /both OIDC_GOOGLE_CLIENT_ID/],
    [
      'an id twice',
      { providers: [kc, { ...kc, issuer: 'https://other.example' }] },
      /id "keycloak" is used twice/,
    ],
    ['an issuer twice', { providers: [kc, { ...kc, id: 'kc2' }] }, /listed twice/],
  ])('refuses %s', (_name, env, message) => {
    expect(() => providerSpecs(env)).toThrow(message);
  });

  it.each([
    ['not JSON', '{', false],
    ['not a list', '{}', false],
    ['a bad id', JSON.stringify([{ ...kc, id: 'Bad Id' }]), false],
    ['an issuer that is not a URL', JSON.stringify([{ ...kc, issuer: 'kc' }]), false],
    ['a good list', JSON.stringify([kc]), true],
  ])('OIDC_PROVIDERS: %s', (_name, text, ok) => {
    expect(providerList.safeParse(text).success).toBe(ok);
  });
});
