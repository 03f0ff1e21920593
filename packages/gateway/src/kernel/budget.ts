import type { Logger } from '@matrixos/shared';

/** What the LLM proxy says this instance may still spend. */
export type Budget =
  | { kind: 'remaining'; usd: number }
  | { kind: 'unlimited' }
  /** The owner's own Anthropic key pays: no platform budget applies. */
  | { kind: 'own-key' }
  | { kind: 'unknown' };

// The owner is waiting for an answer: a slow usage service must not hold the chat up.
const BUDGET_TIMEOUT_MS = 2_000;

/**
 * Asks the LLM proxy, `GET {base}/usage/{handle}` with the instance's proxy token. Any failure
 * (no answer, an error status, a body of the wrong shape) is `unknown`, never an exception.
 */
export async function fetchBudget({
  baseUrl,
  handle,
  apiKey,
  log,
  timeoutMs = BUDGET_TIMEOUT_MS,
}: {
  baseUrl: string;
  handle: string;
  apiKey: string;
  log: Logger;
  timeoutMs?: number;
}): Promise<Budget> {
  try {
    const res = await fetch(`${baseUrl}/usage/${encodeURIComponent(handle)}`, {
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      log.warn({ status: res.status }, 'the LLM proxy refused the budget query');
      return { kind: 'unknown' };
    }
    const usage = (await res.json()) as { remaining?: unknown; ownKey?: { configured?: unknown } };
    if (usage.ownKey?.configured === true) return { kind: 'own-key' };
    if (usage.remaining === null) return { kind: 'unlimited' };
    if (typeof usage.remaining === 'number' && Number.isFinite(usage.remaining)) {
      return { kind: 'remaining', usd: Math.max(0, usage.remaining) };
    }
    log.warn('the LLM proxy answered the budget query without a remaining amount');
    return { kind: 'unknown' };
  } catch (err) {
    log.warn({ err }, 'the LLM proxy did not answer the budget query');
    return { kind: 'unknown' };
  }
}

/** The line the system prompt carries (T152): "Budget: $X.XX remaining". */
export function budgetLine(budget: Budget): string {
  switch (budget.kind) {
    case 'remaining':
      // Rounded down: never promise a cent that is not there.
      return `Budget: $${(Math.floor(budget.usd * 100) / 100).toFixed(2)} remaining`;
    case 'unlimited':
      return 'Budget: no limit set';
    case 'own-key':
      return "Budget: the owner's own Anthropic key pays for this conversation (no platform budget applies)";
    case 'unknown':
      return 'Budget: unknown (the usage service did not answer)';
  }
}
