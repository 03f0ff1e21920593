import { describe, expect, it } from 'vitest';
import { planRollout } from './planRollout.ts';

const row = (handle: string, state: 'provisioning' | 'running' | 'paused' | 'stopped', image = 'old') => ({
  handle,
  state,
  image,
  runtime: 'docker' as const,
});

describe('planRollout', () => {
  it.each([
    ['nothing to move', [], []],
    [
      'awake ones first, by handle, then the sleeping ones',
      [row('zed', 'running'), row('amy', 'stopped'), row('bob', 'paused'), row('cat', 'running')],
      ['bob', 'cat', 'zed', 'amy'],
    ],
    ['already on the image: left alone', [row('amy', 'running', 'new'), row('bob', 'running')], ['bob']],
    [
      'still provisioning: left to its provision',
      [row('amy', 'provisioning'), row('bob', 'stopped')],
      ['bob'],
    ],
    ['another runtime: never moved', [{ ...row('amy', 'running'), runtime: 'process' as const }], []],
  ])('%s', (_name, rows, expected) => {
    expect(planRollout(rows, 'new', 'docker')).toEqual(expected);
  });
});
