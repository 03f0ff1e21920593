import { describe, expect, it } from 'vitest';
import { createEngineView } from './engineView.ts';

const ep = { host: '172.18.0.5', port: 4000 };
const alice = { id: 'c1', handle: 'alice', state: 'running' as const, endpoint: ep };

describe('engineView', () => {
  it('is trusted only once primed while the event stream is up', () => {
    const v = createEngineView();
    v.prime(v.begin(), [alice]);
    expect(v.snapshot()).toBeNull(); // no stream yet: events could be missed
    v.stream(true);
    v.prime(v.begin(), [alice]);
    expect(v.snapshot()).toEqual([alice]);
    v.stream(false);
    expect(v.snapshot()).toBeNull();
  });

  it('distrusts a listing that an event raced', () => {
    const v = createEngineView();
    v.stream(true);
    const token = v.begin();
    v.apply({ id: 'c1', handle: 'alice', state: 'stopped' });
    v.prime(token, [alice]); // listed before the stop, or after? Unknown: not trusted
    expect(v.snapshot()).toBeNull();
  });

  it.each([
    ['a stop drops the address', 'running', 'stopped', null],
    ['a pause keeps it', 'running', 'paused', ep],
    ['an unpause keeps it', 'paused', 'running', ep],
    ['a start has a new one, unknown until inspected', 'stopped', 'running', null],
  ] as const)('%s', (_name, from, to, endpoint) => {
    const v = createEngineView();
    v.stream(true);
    v.prime(v.begin(), [{ ...alice, state: from, endpoint: from === 'stopped' ? null : ep }]);
    v.apply({ id: 'c1', handle: 'alice', state: to });
    expect(v.snapshot()).toEqual([{ ...alice, state: to, endpoint }]);
  });

  it('adds created containers, forgets removed ones, and learns addresses from inspects', () => {
    const v = createEngineView();
    v.stream(true);
    v.prime(v.begin(), []);
    v.apply({ id: 'c2', handle: 'bob', state: 'stopped' });
    v.apply({ id: 'c2', handle: 'bob', state: 'running' });
    v.learn({ id: 'c2', handle: 'bob', state: 'running', endpoint: ep });
    v.learn({ id: 'c9', handle: 'eve', state: 'running', endpoint: ep }); // unknown: not added
    expect(v.snapshot()).toEqual([{ id: 'c2', handle: 'bob', state: 'running', endpoint: ep }]);
    v.apply({ id: 'c2', handle: 'bob', state: 'removed' });
    expect(v.snapshot()).toEqual([]);
  });
});
