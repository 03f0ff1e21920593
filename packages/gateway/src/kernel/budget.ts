// Types only: the gateway is bundled alone into the instance image, so it takes the proxy's
// contract as types and the proxy's own formatting (`remainingText`) from the answer.
import type { UsageReport } from '@matrixos/proxy/contract';
import type { Logger } from '@matrixos/shared';

/** What the LLM proxy says this instance may still spend. */
export type Budget =
  /** `text` is the proxy's `formatUsd` of it (floored to the cent, `<$0.01` under a cent). */
  | { kind: 'remaining'; usd: number; text: string }
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
    // Checked field by field: an older proxy, or none at all, must not break the chat.
    const usage = (await res.json()) as Partial<Pick<UsageReport, 'remaining' | 'remainingText'>> & {
      ownKey?: { configured?: unknown };
    };
    if (usage.ownKey?.configured === true) return { kind: 'own-key' };
    if (usage.remaining === null) return { kind: 'unlimited' };
    if (
      typeof usage.remaining === 'number' &&
      Number.isFinite(usage.remaining) &&
      typeof usage.remainingText === 'string' &&
      /^(<\$0\.01|\$\d+\.\d\d)$/.test(usage.remainingText)
    ) {
      return { kind: 'remaining', usd: Math.max(0, usage.remaining), text: usage.remainingText };
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
      // As the proxy wrote it: floored to the cent, "<$0.01" when less than a cent is left.
      return `Budget: ${budget.text} remaining`;
    case 'unlimited':
      return 'Budget: no limit set';
    case 'own-key':
      return "Budget: the owner's own Anthropic key pays for this conversation (no platform budget applies)";
    case 'unknown':
      return 'Budget: unknown (the usage service did not answer)';
  }
}
