/**
 * Which backups retention removes: it keeps the newest backup of each of the last `daily` days
 * that have one, and the newest of each of the last `weekly` ISO weeks (Monday to Sunday, UTC)
 * that have one; everything else goes. The newest backup is always kept. Input in any order.
 */
export function selectExpired(
  backups: { name: string; at: Date }[],
  keep: { daily: number; weekly: number },
): string[] {
  const newest = [...backups].sort((a, b) => b.at.getTime() - a.at.getTime());
  const kept = new Set<string>();
  const pick = (period: (d: Date) => string, count: number) => {
    const seen = new Set<string>();
    for (const b of newest) {
      const p = period(b.at);
      if (seen.has(p)) continue;
      if (seen.size >= count) break;
      seen.add(p);
      kept.add(b.name);
    }
  };
  pick((d) => d.toISOString().slice(0, 10), keep.daily);
  pick(isoWeek, keep.weekly);
  if (newest[0]) kept.add(newest[0].name);
  return newest.filter((b) => !kept.has(b.name)).map((b) => b.name);
}

/** `2026-W49`: the ISO week (its Thursday decides the year). */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The time in a backup's directory name (`matrixos-20261201T224800Z`), or null for other names. */
export function backupTime(name: string): Date | null {
  const m = /^matrixos-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(name);
  if (!m) return null;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
