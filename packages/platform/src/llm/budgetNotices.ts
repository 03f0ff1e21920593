import { type BudgetNoticeMessage, budgetNotice, formatUsd, usdToMicros } from '@matrixos/proxy/contract';
import { HttpError, type Logger } from '@matrixos/shared';
import type { InstanceAccess } from '../accounts/instanceAccess.ts';
import { postToInbox } from '../instances/postToInbox.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';

/** What the LLM proxy POSTs when a user's spend crosses 80% or 100% of a budget: the proxy's own schema, `periodKey` included. */
export const budgetNoticeSchema = budgetNotice;

export type BudgetNotice = BudgetNoticeMessage;

const PERIOD = {
  total: 'free AI budget',
  day: 'AI budget for today',
  month: 'AI budget for this month',
} as const;
const AGAIN = {
  total: 'Ask the administrator of this server for more.',
  day: 'It renews tomorrow (UTC).',
  month: 'It renews next month.',
} as const;

/** The message the user reads in their instance. */
export function budgetNoticeText(n: BudgetNotice): string {
  // The one rounding rule (floored to the cent, `<$0.01` under a cent), from the proxy's contract.
  const usd = (v: number) => formatUsd(usdToMicros(v));
  if (n.threshold >= 100)
    return `Your ${PERIOD[n.period]} (${usd(n.limit)}) is used up, so your AI will not answer for now. ${AGAIN[n.period]}`;
  return `You have used ${n.threshold}% of your ${PERIOD[n.period]}: ${usd(n.spent)} of ${usd(n.limit)}.`;
}

/** Puts a budget notice in the instance's inbox, waking it if it sleeps (a rare, wanted event). */
export function createBudgetNotices(deps: { lifecycle: Lifecycle; access: InstanceAccess; log: Logger }) {
  return {
    async deliver(notice: BudgetNotice): Promise<void> {
      const token = deps.access.instanceToken(notice.handle);
      // A notice for an instance that is not there is the caller's mistake, not a delivery failure.
      if (!token) throw new HttpError(404, 'not_found', `no instance "${notice.handle}"`);
      const post = () =>
        postToInbox(deps.lifecycle, {
          handle: notice.handle,
          token,
          from: 'Matrix OS',
          text: budgetNoticeText(notice),
        });
      // An instance stopped between its wake and the POST (the idle sweep, an admin) refuses
      // the connection: wake it again, once (the schemathesis fuzz found this race).
      const res = await post().catch(post);
      if (!res.ok) throw new Error(`the instance refused the notice (${res.status})`);
      deps.log.info(
        {
          handle: notice.handle,
          threshold: notice.threshold,
          period: notice.period,
          periodKey: notice.periodKey,
        },
        'budget notice delivered',
      );
    },
  };
}

export type BudgetNotices = ReturnType<typeof createBudgetNotices>;
