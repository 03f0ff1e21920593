import { describe, expect, it } from 'vitest';
import { parseEvent } from './parseEvent.ts';

const ours = (labels: Record<string, string> | undefined) => labels?.['dev.matrixos.platform'] === 'p1';
const line = (Action: string, attrs: Record<string, string>, Type = 'container') =>
  JSON.stringify({ Type, Action, Actor: { ID: 'c1', Attributes: attrs } });
const mine = { 'dev.matrixos.platform': 'p1', 'dev.matrixos.handle': 'alice' };

describe('parseEvent', () => {
  it.each([
    ['create', 'stopped'],
    ['start', 'running'],
    ['unpause', 'running'],
    ['die', 'stopped'],
    ['pause', 'paused'],
    ['destroy', 'removed'],
  ])('maps %s to %s', (action, state) => {
    expect(parseEvent(line(action, mine), ours)).toEqual({
      id: 'c1',
      handle: 'alice',
      state,
      created: action === 'create',
    });
  });

  it.each([
    ['an action that changes no state', line('exec_start: sh', mine)],
    ["another platform's container", line('die', { ...mine, 'dev.matrixos.platform': 'p2' })],
    ['an image event', line('die', mine, 'image')],
    ['a line that is not JSON', '{"Type":"contai'],
    ['an empty line', ''],
  ])('ignores %s', (_what, text) => {
    expect(parseEvent(text, ours)).toBeNull();
  });
});
