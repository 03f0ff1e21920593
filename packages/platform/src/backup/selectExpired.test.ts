import { describe, expect, it } from 'vitest';
import { backupTime, selectExpired } from './selectExpired.ts';

const at = (iso: string) => ({ name: iso, at: new Date(iso) });

describe('selectExpired', () => {
  // 2026-11-30 is a Monday; 2026-12-06 a Sunday.
  const rows: [string, { name: string; at: Date }[], { daily: number; weekly: number }, string[]][] = [
    ['nothing to remove', [at('2026-12-01T03:00:00Z')], { daily: 7, weekly: 4 }, []],
    ['an empty directory', [], { daily: 7, weekly: 4 }, []],
    [
      'two on one day: the older goes',
      [at('2026-12-01T03:00:00Z'), at('2026-12-01T15:00:00Z')],
      { daily: 7, weekly: 0 },
      ['2026-12-01T03:00:00Z'],
    ],
    [
      'more days than kept: the oldest days go',
      [at('2026-12-01T03:00:00Z'), at('2026-12-02T03:00:00Z'), at('2026-12-03T03:00:00Z')],
      { daily: 2, weekly: 0 },
      ['2026-12-01T03:00:00Z'],
    ],
    [
      'a weekly keeps the newest of an older week',
      [
        at('2026-11-23T03:00:00Z'),
        at('2026-11-28T03:00:00Z'),
        at('2026-12-01T03:00:00Z'),
        at('2026-12-02T03:00:00Z'),
      ],
      { daily: 2, weekly: 2 },
      ['2026-11-23T03:00:00Z'],
    ],
    [
      'Sunday and Monday are different ISO weeks',
      [at('2026-11-29T03:00:00Z'), at('2026-11-30T03:00:00Z')],
      { daily: 0, weekly: 2 },
      [],
    ],
    [
      'keeping nothing still keeps the newest',
      [at('2026-12-01T03:00:00Z'), at('2026-12-02T03:00:00Z')],
      { daily: 0, weekly: 0 },
      ['2026-12-01T03:00:00Z'],
    ],
  ];
  it.each(rows)('%s', (_, backups, keep, expired) => {
    expect(selectExpired(backups, keep).sort()).toEqual(expired.sort());
  });
});

describe('backupTime', () => {
  it.each([
    ['matrixos-20261201T031500Z', '2026-12-01T03:15:00.000Z'],
    ['matrixos-20261201T031500Z.partial', null],
    ['matrixos-20261201T031500Z-damaged', null],
    ['notes.txt', null],
  ])('%s', (name, iso) => {
    expect(backupTime(name)?.toISOString() ?? null).toBe(iso);
  });
});
