/**
 * OpenID Connect sign-in, measured against a real provider (oidc-provider on loopback, as in the
 * tests): how long a whole sign-in takes at the API level (start, the provider's login and
 * consent pages over HTTP, the platform's callback), and the callback alone (code exchange with
 * PKCE, ID token verified against the provider's JWKS, session issued). Median and p95 of N.
 *
 *   npm run bench -- oidc                 (BENCH_SAMPLES, default 30)
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { createCookieClient } from '../../packages/platform/test/cookieClient.ts';
import { startTestPlatform } from '../../packages/platform/test/harness.ts';
import { signInAtProvider, startLocalProvider } from '../../packages/platform/test/oidc/localProvider.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const FIXTURE = fileURLToPath(
  new URL('../../packages/platform/test/fixtures/streamingInstance.ts', import.meta.url),
);
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const port = await freePort();
const origin = `http://localhost:${port}`;
const local = await startLocalProvider({ redirectUris: [`${origin}/auth/oidc/local/callback`] });
const t = await startTestPlatform({
  runtime: 'process',
  command: [process.execPath, FIXTURE],
  port,
  env: {
    TRUST_PROXY: 'true',
    OIDC_PROVIDERS: JSON.stringify([
      {
        id: 'local',
        name: 'Local',
        issuer: local.issuer,
        clientId: local.clientId,
        clientSecret: local.clientSecret,
      },
    ]),
  },
});

async function roundTrip(intent: 'signup' | 'login', login: string) {
  const client = createCookieClient(port);
  const t0 = performance.now();
  const start = await client.cp('/auth/oidc/local/start', { method: 'POST', body: { intent } });
  const back = await signInAtProvider(start.json<{ url: string }>().url, login, origin);
  const t1 = performance.now();
  const done = await client.cp(`${back.pathname}${back.search}`);
  const t2 = performance.now();
  if (done.status !== 302) throw new Error(`callback answered ${done.status}`);
  return { client, total: t2 - t0, callback: t2 - t1, location: done.headers.location };
}

try {
  const { client } = await roundTrip('signup', 'bench-person');
  await client.cp('/auth/oidc/signup', { method: 'POST', body: { handle: 'bench' } });
  const total: number[] = [];
  const callback: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const r = await roundTrip('login', 'bench-person');
    if (!String(r.location).includes('bench.localhost')) throw new Error(`sign-in went to ${r.location}`);
    total.push(r.total);
    callback.push(r.callback);
  }
  const row = (name: string, xs: number[]) =>
    `| ${name} | ${pct(xs, 0.5).toFixed(1)} ms | ${pct(xs, 0.95).toFixed(1)} ms |`;
  console.log(`\nOpenID Connect sign-in, ${SAMPLES} samples (rate limits: each sample is a new client)\n`);
  console.log('| step | median | p95 |\n| --- | --- | --- |');
  console.log(row('whole sign-in (start, provider pages, callback)', total));
  console.log(row('callback (code exchange, ID token + JWKS, session)', callback));
} finally {
  await t.destroy();
  await local.close();
}
