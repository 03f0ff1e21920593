import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V1_ROUTES } from '../src/upstream/v1Handler.ts';
import { startProxy, type TestProxy } from './helpers.ts';
import { startUpstreamStandIn, type UpstreamStandIn } from './upstream/index.ts';

let upstream: UpstreamStandIn;
let proxy: TestProxy;
beforeAll(async () => {
  upstream = await startUpstreamStandIn();
  proxy = await startProxy(upstream.url);
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

const openapiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z_]+)/g, '{$1}');

describe('GET /openapi.json', () => {
  it('is public OpenAPI 3.1 and describes every route the proxy serves, and nothing else', async () => {
    const res = await fetch(`${proxy.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    // Every route of the Hono side (middleware aside) and of the raw /v1 side.
    const served = [
      ...proxy.app.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} ${openapiPath(r.path)}`),
      ...V1_ROUTES.map((r) => `${r.method} ${r.path}`),
    ];
    expect(described).toEqual([...new Set(served)].sort());
  });

  it('describes refusals with their machine-readable codes', async () => {
    const doc = await (await fetch(`${proxy.url}/openapi.json`)).json();
    const refused = doc.paths['/v1/messages'].post.responses['429'];
    // The proxy's own refusal, or the API's own 429 passed through (which has no `code`).
    const [own, upstream] = refused.content['application/json'].schema.anyOf;
    expect(own.properties.error.properties.code.enum).toContain('budget_exhausted');
    expect(upstream.properties.error.required).not.toContain('code');
    expect(Object.keys(refused.headers)).toEqual(['x-proxy-refusal']);
  });
});

describe('methods a path does not serve', () => {
  it.each([
    ['PATCH', '/keys/alice', 'PUT, DELETE'],
    ['POST', '/health', 'GET, HEAD'],
    ['DELETE', '/usage/summary', 'GET, HEAD'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const res = await fetch(proxy.url + path, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect((await res.json()).error.code).toBe('method_not_allowed');
  });

  it('answers the same on /v1, in the API shape', async () => {
    const res = await fetch(`${proxy.url}/v1/messages`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await res.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'not_served' });
    expect((await fetch(`${proxy.url}/nothing/here`)).status).toBe(404);
  });
});
