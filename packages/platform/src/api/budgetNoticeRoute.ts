import { HttpError, limitBody, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { type BudgetNotices, budgetNoticeSchema } from '../llm/budgetNotices.ts';

/**
 * `POST /internal/budget-notices`: the LLM proxy's webhook (admin token), checked against the
 * proxy's own schema (`periodKey` included) and delivered to the instance.
 */
export function budgetNoticeRoute(notices: BudgetNotices) {
  // A notice is a few hundred bytes.
  return new Hono().post('/internal/budget-notices', limitBody(4 * 1024), async (c) => {
    const notice = await readJson(c, budgetNoticeSchema);
    try {
      await notices.deliver(notice);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(
        502,
        'not_delivered',
        `the notice could not be delivered: ${(err as Error).message}`,
      );
    }
    return c.json({ delivered: true });
  });
}
