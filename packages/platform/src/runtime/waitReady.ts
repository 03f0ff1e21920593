import { setTimeout as delay } from 'node:timers/promises';
import type { Endpoint } from './driver.ts';

export interface WaitReadyOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Stops waiting at once; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Pause between attempts (default 25 ms: a woken instance answers within a few hundred ms). */
  intervalMs?: number;
  /**
   * Whose gateway should answer. An address freed by an instance that died can be given to
   * another container at once: a gateway that says it is someone else's is not this one, ready.
   */
  handle?: string;
}

export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** One attempt never waits longer than this: a half-dead listener must not eat the whole budget. */
const ATTEMPT_TIMEOUT_MS = 2000;

/**
 * Resolves once `GET /health` at the endpoint answers 200 (as `handle`'s gateway, when given);
 * rejects with NotReadyError on timeout.
 */
export async function waitReady(endpoint: Endpoint, options: WaitReadyOptions = {}): Promise<void> {
  const { timeoutMs = 30_000, signal, intervalMs = 25, handle } = options;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const url = `http://${host}:${endpoint.port}/health`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt made';
  for (;;) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new NotReadyError(
        `instance at ${host}:${endpoint.port} not ready after ${timeoutMs} ms (last: ${last})`,
      );
    }
    const attempt = AbortSignal.timeout(Math.min(remaining, ATTEMPT_TIMEOUT_MS));
    try {
      const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, attempt]) : attempt });
      const answeredAs = res.status === 200 && handle ? await handleOf(res) : null;
      await res.body?.cancel().catch(() => {});
      if (res.status === 200 && (answeredAs === null || answeredAs === handle)) return;
      last = res.status === 200 ? `another instance answers there ("${answeredAs}")` : `HTTP ${res.status}`;
    } catch (err) {
      signal?.throwIfAborted();
      last = describe(err);
    }
    try {
      await delay(Math.max(0, Math.min(intervalMs, deadline - Date.now())), undefined, { signal });
    } catch (err) {
      signal?.throwIfAborted();
      throw err;
    }
  }
}

/** The handle a gateway's health answer names, or null when it names none (it cannot tell). */
async function handleOf(res: Response): Promise<string | null> {
  const body = (await res.json().catch(() => null)) as { handle?: unknown } | null;
  return typeof body?.handle === 'string' ? body.handle : null;
}

function describe(err: unknown): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'no answer in time';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
