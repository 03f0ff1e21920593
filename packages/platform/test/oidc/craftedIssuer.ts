import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** What the crafted issuer's token endpoint puts in the ID token it returns. */
export type TokenMode =
  | 'good'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'expired'
  | 'unsigned'
  | 'foreign-key'
  | 'wrong-nonce';

/**
 * An OpenID provider at the wire level whose token endpoint returns whatever ID token a test asks
 * for: the way to show that the platform (through openid-client) refuses a token from the wrong
 * issuer, for another audience, expired, unsigned, signed with a key not in the JWKS, or with
 * another nonce. Its authorization endpoint approves at once (there is no one to ask).
 */
export async function startCraftedIssuer(opts: { clientId: string }) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const kid = 'crafted-1';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce: string }>();
  let mode: TokenMode = 'good';
  let subject = 'crafted-person';
  let email: string | undefined;

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function idToken(nonce: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: subject,
      nonce: mode === 'wrong-nonce' ? 'not-the-nonce-that-was-sent' : nonce,
      email: email ?? `${subject}@crafted.example`,
      email_verified: true,
    };
    if (mode === 'unsigned') {
      const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: issuer, aud: opts.clientId, iat: now, exp: now + 300 })}.`;
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(mode === 'wrong-issuer' ? 'https://attacker.example' : issuer)
      .setAudience(mode === 'wrong-audience' ? 'some-other-client' : opts.clientId)
      .setIssuedAt(mode === 'expired' ? now - 7200 : now)
      .setExpirationTime(mode === 'expired' ? now - 3600 : now + 300)
      .sign(mode === 'foreign-key' ? foreign.privateKey : privateKey);
  }

  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const code = randomUUID();
      codes.set(code, { nonce: url.searchParams.get('nonce') ?? '' });
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!grant) return json(400, { error: 'invalid_grant' });
      return json(200, {
        access_token: randomUUID(),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await idToken(grant.nonce),
      });
    }
    json(404, { error: 'not_found' });
  });

  return {
    issuer,
    setMode(m: TokenMode, sub = 'crafted-person', mail?: string): void {
      mode = m;
      subject = sub;
      email = mail;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
