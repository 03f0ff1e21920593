import { z } from 'zod';
import { registeredKey, revokedKey } from './keys.ts';
import { type Quota, type QuotaBody, quota } from './quotas.ts';
import { apiError } from './refusals.ts';
import { type UsageReport, type UsageSummary, usageReport, usageSummary } from './usage.ts';

/** A call to the proxy's admin API that failed: no answer (`status` null), an error status, or a body of the wrong shape. */
export class ProxyClientError extends Error {
  readonly status: number | null;
  readonly code: string;
  constructor(status: number | null, code: string, message: string) {
    super(message);
    this.name = 'ProxyClientError';
    this.status = status;
    this.code = code;
  }
}

export interface ProxyClientOptions {
  baseUrl: string;
  adminToken: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type ProxyClient = ReturnType<typeof createProxyClient>;

/**
 * The proxy's admin API as the platform uses it, every answer checked against the proxy's own
 * schemas (so a drift fails loudly at the call, not later in a dashboard).
 */
export function createProxyClient(o: ProxyClientOptions) {
  const doFetch = o.fetch ?? fetch;
  const timeoutMs = o.timeoutMs ?? 5000;

  async function call<S extends z.ZodType>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    schema: S,
    body?: object,
    okStatuses: number[] = [],
  ): Promise<z.infer<S> | null> {
    let res: Response;
    try {
      res = await doFetch(`${o.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${o.adminToken}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ProxyClientError(
        null,
        'unreachable',
        `the LLM proxy at ${o.baseUrl} did not answer (${(err as Error).message})`,
      );
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      if (okStatuses.includes(res.status)) return null;
      const e = apiError.safeParse(json);
      throw new ProxyClientError(
        res.status,
        e.success ? e.data.error.code : 'http_error',
        `${method} ${path}: the LLM proxy answered ${res.status} (${e.success ? e.data.error.message : text.slice(0, 200)})`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new ProxyClientError(
        res.status,
        'bad_response',
        `${method} ${path}: the LLM proxy's answer does not match its contract (${parsed.error.message})`,
      );
    return parsed.data;
  }

  const h = encodeURIComponent;
  return {
    /** Whether the proxy answers and is healthy (its `/health`); throws when not. */
    async ping(): Promise<void> {
      await call('GET', '/health', z.unknown());
    },
    /** Registers (or rotates) the proxy token of an instance. */
    async register(handle: string, token: string): Promise<void> {
      await call('PUT', `/keys/${h(handle)}`, registeredKey, { token });
    },
    /** Revokes it; a handle the proxy never knew is not an error. */
    async revoke(handle: string): Promise<void> {
      await call('DELETE', `/keys/${h(handle)}`, revokedKey, undefined, [404]);
    },
    async usageOf(handle: string): Promise<UsageReport> {
      return (await call('GET', `/usage/${h(handle)}`, usageReport))!;
    },
    async summary(): Promise<UsageSummary> {
      return (await call('GET', '/usage/summary', usageSummary))!;
    },
    async quotaOf(handle: string): Promise<Quota> {
      return (await call('GET', `/quotas/${h(handle)}`, quota))!;
    },
    async setQuota(handle: string, limits: QuotaBody): Promise<Quota> {
      return (await call('POST', `/quotas/${h(handle)}`, quota, limits))!;
    },
  };
}
