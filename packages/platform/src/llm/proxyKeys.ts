/**
 * The LLM proxy's key registry, as the platform uses it: each instance's own proxy token is
 * registered when the instance is made and revoked when it is destroyed, so the proxy knows who
 * calls from the key alone (docs/proxy.md, "PUT /keys/{handle}").
 */
export interface LlmKeys {
  register(handle: string, token: string): Promise<void>;
  revoke(handle: string): Promise<void>;
}

export function createProxyKeys(opts: { baseUrl: string; adminToken: string; timeoutMs?: number }): LlmKeys {
  const timeoutMs = opts.timeoutMs ?? 5000;

  async function call(method: 'PUT' | 'DELETE', handle: string, body?: object): Promise<Response> {
    try {
      return await fetch(`${opts.baseUrl}/keys/${encodeURIComponent(handle)}`, {
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
    async register(handle, token) {
      const res = await call('PUT', handle, { token });
      if (!res.ok)
        throw new Error(
          `the LLM proxy refused the key of "${handle}" (${res.status}: ${await explain(res)})`,
        );
    },
    async revoke(handle) {
      const res = await call('DELETE', handle);
      if (!res.ok && res.status !== 404)
        throw new Error(`the LLM proxy did not revoke "${handle}" (${res.status}: ${await explain(res)})`);
    },
  };
}
