import { errorBody, openApiPath, REVOCATIONS_PATH } from '@matrixos/shared';
import { inspectRoutes } from 'hono/dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { telegramSettingsResponse } from '../src/channels/contract.ts';
import { jobsReply, repoReply, secretNamesReply } from '../src/contract/jobs.ts';
import {
  appsReply,
  conversationsReply,
  directoryReply,
  healthReply,
  messagesReply,
  revocationsReply,
  sessionReply,
  settingsReply,
  systemInfoReply,
  writtenReply,
} from '../src/contract/routes.ts';
import { startGateway, type TestGateway } from './harness.ts';

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

describe('the gateway API description', () => {
  let gw: TestGateway;
  let doc: Doc;
  beforeAll(async () => {
    // No model list from a real Anthropic: a closed port answers at once.
    gw = await startGateway({ anthropicBaseUrl: 'http://127.0.0.1:9' }, { jobs: true });
    doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Doc;
  });
  afterAll(() => gw?.close());

  it('is served at /openapi.json without the token, as OpenAPI 3.1', async () => {
    const r = await fetch(`${gw.url}/openapi.json`);
    expect(r.status).toBe(200);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes every route the gateway serves (a route added without a description fails here)', () => {
    const served = inspectRoutes(gw.gateway.app)
      .filter((r) => !r.isMiddleware)
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(25);
    const described = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    expect(served.filter((route) => !described.has(route))).toEqual([]);
  });

  /** The real answer parses with the schema the document was made from, for the status it came with. */
  async function conforms(
    method: string,
    path: string,
    documented: string,
    status: number,
    schema: z.ZodType,
    body?: string,
  ): Promise<void> {
    const r = await gw.api(path, {
      method,
      body,
      headers: body ? { 'content-type': 'application/json' } : {},
    });
    const text = await r.text();
    expect(r.status, text).toBe(status);
    expect(Object.keys(doc.paths[documented]?.[method.toLowerCase()]?.responses ?? {})).toContain(
      String(status),
    );
    const parsed = schema.safeParse(JSON.parse(text));
    expect(parsed.error?.issues ?? []).toEqual([]);
  }

  it('answers real calls with what their schemas say', async () => {
    await conforms('GET', '/health', '/health', 200, healthReply);
    await conforms('GET', '/api/system/info', '/api/system/info', 200, systemInfoReply);
    await conforms('GET', '/api/session', '/api/session', 200, sessionReply);
    await conforms(
      'POST',
      '/api/message',
      '/api/message',
      201,
      messagesReply.shape.messages.element.pick({ id: true, receivedAt: true }),
      JSON.stringify({ text: 'hi', from: 'bob' }),
    );
    await conforms('GET', '/api/messages', '/api/messages', 200, messagesReply);
    await conforms('PUT', '/files/notes/a.md', '/files/{path}', 201, writtenReply, '# a');
    await conforms('GET', '/files/notes', '/files/{path}', 200, directoryReply);
    await conforms('GET', '/files', '/files', 200, directoryReply);
    await conforms('GET', '/api/apps', '/api/apps', 200, appsReply);
    await conforms('GET', '/api/conversations', '/api/conversations', 200, conversationsReply);
    await conforms('GET', '/api/settings', '/api/settings', 200, settingsReply);
    await conforms('GET', '/files/nope', '/files/{path}', 404, errorBody);
    await conforms('GET', `/files/${'n'.repeat(300)}`, '/files/{path}', 400, errorBody);
    await conforms('POST', '/api/message', '/api/message', 400, errorBody, '{"text":');
    // Found by the fuzz: the name went into Location as it came, and an invalid header is a 500.
    await conforms('GET', '/apps/1%C2%94%0F', '/apps/{name}', 404, errorBody);
    await conforms('GET', '/api/health', '/api/health', 200, healthReply);
    await conforms('GET', '/api/jobs', '/api/jobs', 200, jobsReply);
    await conforms('GET', '/api/jobs/repo', '/api/jobs/repo', 200, repoReply);
    await conforms('GET', '/api/jobs/secrets', '/api/jobs/secrets', 200, secretNamesReply);
    await conforms('GET', '/api/jobs/Bad', '/api/jobs/{id}', 400, errorBody);
    await conforms('GET', '/api/jobs/nope', '/api/jobs/{id}', 404, errorBody);
    await conforms('POST', '/api/jobs/repo/sync', '/api/jobs/repo/sync', 409, errorBody);
    await conforms('GET', '/api/settings/telegram', '/api/settings/telegram', 200, telegramSettingsResponse);
    const revocations = JSON.stringify({ sessions: ['s1'] });
    await conforms('POST', REVOCATIONS_PATH, REVOCATIONS_PATH, 200, revocationsReply, revocations);
    await conforms('POST', REVOCATIONS_PATH, REVOCATIONS_PATH, 400, errorBody, '{"sessions":[]}');
  });
});
