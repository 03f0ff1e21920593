import {
  createProxyClient as createClient,
  type ProxyClient,
  type QuotaBody,
} from '@matrixos/proxy/contract';

/**
 * The LLM proxy as the platform uses it (docs/proxy.md, "The platform's side"): the proxy's own
 * typed client (`@matrixos/proxy/contract`), which checks every answer against the proxy's
 * schemas. Each instance's own proxy token is registered when the instance is made and revoked
 * when it is destroyed; usage is read back for the dashboards.
 */
export type LlmProxy = ProxyClient;
export type LlmKeys = Pick<ProxyClient, 'register' | 'revoke'>;
export type LlmUsage = Pick<ProxyClient, 'usageOf' | 'summary'>;
/** Dollars; null removes a limit; an omitted one is kept (the proxy's `POST /quotas/:handle`). */
export type QuotaPatch = QuotaBody;

export function createProxyClient(opts: {
  baseUrl: string;
  adminToken: string;
  timeoutMs?: number;
}): LlmProxy {
  return createClient(opts);
}
