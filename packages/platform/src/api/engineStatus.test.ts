import { describe, expect, it } from 'vitest';
import type { RuntimeDriver, RuntimeInstance } from '../runtime/driver.ts';
import { createEngineStatus } from './engineStatus.ts';

function engine(answers: (() => Promise<RuntimeInstance[]>)[]) {
  let calls = 0;
  const runtime = {
    list: () => {
      const answer = answers[Math.min(calls, answers.length - 1)]!;
      calls++;
      return answer();
    },
  } as unknown as RuntimeDriver;
  return { runtime, calls: () => calls };
}

const running = { state: 'running' } as RuntimeInstance;

describe('createEngineStatus', () => {
  it('is unknown (not ok) until the first look', () => {
    const { runtime, calls } = engine([async () => []]);
    const status = createEngineStatus({ runtime });
    expect(status.current()).toEqual({ ok: false, error: 'not checked yet', checkedAt: null });
    expect(calls()).toBe(0);
  });

  it('counts running instances, and shares one look among concurrent refreshes', async () => {
    const { runtime, calls } = engine([
      async () => [running, running, { state: 'stopped' } as RuntimeInstance],
    ]);
    const status = createEngineStatus({ runtime });
    await Promise.all([status.refresh(), status.refresh(), status.refresh()]);
    expect(calls()).toBe(1);
    expect(status.current()).toMatchObject({ ok: true, running: 2 });
    // Reading it costs nothing.
    for (let i = 0; i < 100; i++) status.current();
    expect(calls()).toBe(1);
  });

  it('keeps the failure as the state until the next look succeeds', async () => {
    const { runtime } = engine([() => Promise.reject(new Error('socket hang up')), async () => [running]]);
    const status = createEngineStatus({ runtime });
    await status.refresh();
    expect(status.current()).toMatchObject({ ok: false, error: 'socket hang up' });
    await status.refresh();
    expect(status.current()).toMatchObject({ ok: true, running: 1 });
  });
});
