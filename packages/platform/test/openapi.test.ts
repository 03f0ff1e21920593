import { fileURLToPath } from 'node:url';
import { openApiPath } from '@matrixos/shared';
import { inspectRoutes } from 'hono/dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  aliasReply,
  containerReply,
  keptDataReply,
  overviewReply,
  sweepReply,
} from '../src/api/contract/admin.ts';
import { availabilityReply } from '../src/api/contract/auth.ts';
import { errorBody, instanceReply } from '../src/api/contract/common.ts';
import { INSTANCE_API } from '../src/api/contract/instanceApi.ts';
import { INSTANCE_TRAFFIC } from '../src/api/contract/instances.ts';
import { healthReply, statsReply } from '../src/api/contract/public.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>>;
}

describe('the platform API description', () => {
  let t: TestPlatform;
  let doc: Doc;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
    doc = (await t.request({ path: '/openapi.json' })).json<Doc>();
  });
  afterAll(() => t?.destroy());

  it.each([
    ['/containers/:handle', '/containers/{handle}'],
    ['/apps/:name{[^/]+}/*', '/apps/{name}/{path}'],
    ['/files/*', '/files/{path}'],
    ['/health', '/health'],
  ])('writes the Hono path %s as %s', (hono, openapi) => {
    expect(openApiPath(hono)).toBe(openapi);
  });

  it('is served at /openapi.json without credentials, as OpenAPI 3.1', async () => {
    const r = await t.request({ path: '/openapi.json' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('application/json');
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes every route the control plane serves (a route added without a description fails here)', () => {
    const served = inspectRoutes(t.platform.app)
      .filter((r) => !r.isMiddleware)
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(40);
    const described = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    expect(served.filter((route) => !described.has(route))).toEqual([]);
  });

  it('describes every route the instance API listener serves, tagged as such', () => {
    const served = inspectRoutes(t.platform.instanceApi)
      .filter((r) => !r.isMiddleware)
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(10);
    const described = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => op.tags?.includes(INSTANCE_API))
          .map(([m]) => `${m.toUpperCase()} ${p}`),
      ),
    );
    expect(served.filter((route) => !described.has(route))).toEqual([]);
  });

  it('describes instance traffic as such, apart from the control plane', () => {
    const routed = doc.paths['/proxy/{handle}/{path}'];
    expect(Object.keys(routed ?? {})).toEqual(expect.arrayContaining(['get', 'post']));
    for (const op of Object.values(routed ?? {})) expect(op.tags).toEqual([INSTANCE_TRAFFIC]);
  });

  /** The real answer parses with the schema the document was made from, for the status it came with. */
  async function conforms(
    method: string,
    path: string,
    status: number,
    schema: z.ZodType,
    body?: object,
  ): Promise<void> {
    const r = await t.admin(method, path, body);
    expect(r.status, r.text).toBe(status);
    const documented = path.replace(/\/(alice|Alice)(?=\/|$)/, '/{handle}').replace(/\?.*/, '');
    expect(Object.keys(doc.paths[documented]?.[method.toLowerCase()]?.responses ?? {})).toContain(
      String(status),
    );
    const parsed = schema.safeParse(r.json());
    expect(parsed.error?.issues ?? []).toEqual([]);
  }

  it('answers real calls with what their schemas say', async () => {
    await conforms('POST', '/containers/provision', 201, instanceReply.extend({}), { handle: 'alice' });
    await conforms('GET', '/health', 200, healthReply);
    await conforms('GET', '/stats', 200, statsReply);
    await conforms('GET', '/containers/alice', 200, containerReply);
    await conforms('GET', '/admin/overview', 200, overviewReply);
    await conforms('POST', '/admin/sweep', 200, sweepReply);
    await conforms('GET', '/auth/handles/alice', 200, availabilityReply);
    await conforms('POST', '/containers/alice/pause', 200, instanceReply);
    await conforms('POST', '/containers/alice/pause', 409, errorBody);
    await conforms('GET', '/containers/Alice', 400, errorBody);
    await conforms('GET', '/admin/kept-data', 200, keptDataReply);
    await conforms(
      'POST',
      '/admin/instances',
      200,
      aliasReply.extend({ owner_email: aliasReply.shape.url }),
      {
        subdomain: 'alice',
        owner_email: 'alice@example.com',
      },
    );
    // Billing is off here: Stripe's webhook says so, as described.
    await conforms('POST', '/webhooks/stripe', 404, errorBody, {});
    await conforms('DELETE', '/containers/alice/data', 409, errorBody);
    await conforms('POST', '/internal/budget-notices', 404, errorBody, {
      handle: 'nobody',
      threshold: 80,
      period: 'day',
      periodKey: '2026-12-01',
      spent: 1,
      limit: 2,
    });
  });
});
