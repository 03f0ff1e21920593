/**
 * The LLM proxy as the platform uses it (docs/proxy.md, "The platform's side"): each instance's
 * own proxy token is registered when the instance is made and revoked when it is destroyed, so
 * the proxy knows who calls from the key alone; usage is read back for the dashboards.
 */
export interface LlmKeys {
  register(handle: string, token: string): Promise<void>;
  revoke(handle: string): Promise<void>;
}

export interface LlmUsage {
  /** One user's budgets and spend (`daily`: the last 30 days), as the proxy reports them. */
  usageOf(handle: string): Promise<Record<string, unknown>>;
  /** Every user's spend today, this month and in total. */
  summary(): Promise<{ users: { handle: string; today: number; month: number; total: number }[] }>;
}

/** Whether the proxy answers (its `/health`), for the platform's own `/health`. */
export interface LlmHealth {
  ping(): Promise<void>;
}

export type LlmProxy = LlmKeys & LlmUsage & Partial<LlmHealth>;

export function createProxyClient(opts: {
  baseUrl: string;
  adminToken: string;
  timeoutMs?: number;
}): LlmProxy {
  const timeoutMs = opts.timeoutMs ?? 5000;

  async function call(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: object): Promise<Response> {
    try {
      return await fetch(`${opts.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${opts.adminToken}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new Error(`the LLM proxy at ${opts.baseUrl} did not answer (${(err as Error).message})`);
    }
  }

  async function explain(res: Response): Promise<string> {
    const text = await res.text().catch(() => '');
    try {
      return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      return text;
    }
  }

  return {
    async ping() {
      const res = await call('GET', '/health');
      if (!res.ok) throw new Error(`the LLM proxy at ${opts.baseUrl} is unhealthy (${res.status})`);
      await res.body?.cancel();
    },
    async register(handle, token) {
      const res = await call('PUT', `/keys/${encodeURIComponent(handle)}`, { token });
      if (!res.ok)
        throw new Error(
          `the LLM proxy refused the key of "${handle}" (${res.status}: ${await explain(res)})`,
        );
    },
    async revoke(handle) {
      const res = await call('DELETE', `/keys/${encodeURIComponent(handle)}`);
      if (!res.ok && res.status !== 404)
        throw new Error(`the LLM proxy did not revoke "${handle}" (${res.status}: ${await explain(res)})`);
    },
    async usageOf(handle) {
      const res = await call('GET', `/usage/${encodeURIComponent(handle)}`);
      if (!res.ok)
        throw new Error(`the LLM proxy has no usage for "${handle}" (${res.status}: ${await explain(res)})`);
      return (await res.json()) as Record<string, unknown>;
    },
    async summary() {
      const res = await call('GET', '/usage/summary');
      if (!res.ok)
        throw new Error(`the LLM proxy did not give its summary (${res.status}: ${await explain(res)})`);
      return (await res.json()) as Awaited<ReturnType<LlmUsage['summary']>>;
    },
  };
}
