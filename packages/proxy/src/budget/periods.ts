export type PeriodKind = 'total' | 'day' | 'month';

export interface Period {
  kind: PeriodKind;
  /** `total`, `2026-11-25` or `2026-11` (UTC). */
  key: string;
  /** The row key in the `spend` table: `total`, `day:2026-11-25`, `month:2026-11`. */
  id: string;
}

/** The UTC day and month a moment falls in: budgets reset at midnight UTC. */
export function dayAndMonth(ms: number): { day: string; month: string } {
  const iso = new Date(ms).toISOString();
  return { day: iso.slice(0, 10), month: iso.slice(0, 7) };
}

/** The three budget periods a request counts in. */
export function periodsOf(day: string, month: string): Period[] {
  return [
    { kind: 'total', key: 'total', id: 'total' },
    { kind: 'day', key: day, id: `day:${day}` },
    { kind: 'month', key: month, id: `month:${month}` },
  ];
}
