import type { Logger } from '@matrixos/shared';
import type { BudgetNoticeMessage } from '../contract/notices.ts';
import { microsToUsd } from '../pricing/money.ts';
import type { BudgetNotice } from './Ledger.ts';

/** How a user is told their spend crossed 80% or 100% of a budget. */
export interface BudgetNotifier {
  notify(notice: BudgetNotice): Promise<void>;
}

/** The webhook's JSON body (the contract's `budgetNotice`): amounts in dollars, `period` one of `total`, `day`, `month`. */
export function noticeBody(n: BudgetNotice): BudgetNoticeMessage {
  return {
    handle: n.handle,
    threshold: n.threshold,
    period: n.period,
    periodKey: n.periodKey,
    spent: microsToUsd(n.spentMicros),
    limit: microsToUsd(n.limitMicros),
  };
}

export interface WebhookOptions {
  url: string;
  /** Sent as the bearer token, so the platform knows the notice comes from its proxy. */
  adminToken: string | null;
  log: Logger;
  fetch?: typeof fetch;
  /** Waits between attempts; the last failure is logged and the notice dropped. */
  retryDelaysMs?: number[];
  timeoutMs?: number;
}

/** POSTs each notice to the platform, which delivers it to the user's instance. */
export function webhookNotifier(o: WebhookOptions): BudgetNotifier {
  const doFetch = o.fetch ?? fetch;
  const delays = o.retryDelaysMs ?? [1000, 5000];
  return {
    async notify(notice) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (o.adminToken) headers.authorization = `Bearer ${o.adminToken}`;
      const body = JSON.stringify(noticeBody(notice));
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await doFetch(o.url, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
          });
          await res.body?.cancel();
          if (res.ok) return;
          throw new Error(`webhook answered ${res.status}`);
        } catch (err) {
          const delay = delays[attempt];
          if (delay === undefined) {
            o.log.warn({ err, notice: noticeBody(notice) }, 'budget notice not delivered');
            return;
          }
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    },
  };
}

/** Without a webhook the notices are only logged. */
export function logNotifier(log: Logger): BudgetNotifier {
  return {
    async notify(notice) {
      log.info({ notice: noticeBody(notice) }, 'budget threshold reached (no BUDGET_WEBHOOK_URL set)');
    },
  };
}
