import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createKeyedMutex } from './keyedMutex.ts';

describe('createKeyedMutex', () => {
  it('never overlaps two operations on one key, and keeps their order', async () => {
    const mutex = createKeyedMutex();
    const log: string[] = [];
    let inside = 0;
    let maxInside = 0;
    const op = (name: string, ms: number) =>
      mutex.run('alice', async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        log.push(`start ${name}`);
        await sleep(ms);
        log.push(`end ${name}`);
        inside--;
        return name;
      });
    const results = await Promise.all([op('a', 20), op('b', 1), op('c', 5)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(maxInside).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs different keys concurrently', async () => {
    const mutex = createKeyedMutex();
    let inside = 0;
    let maxInside = 0;
    const op = (key: string) =>
      mutex.run(key, async () => {
        maxInside = Math.max(maxInside, ++inside);
        await sleep(10);
        inside--;
      });
    await Promise.all([op('alice'), op('bob')]);
    expect(maxInside).toBe(2);
  });

  it('lets the queue continue after a failure, and reports it to its caller only', async () => {
    const mutex = createKeyedMutex();
    const failed = mutex.run('alice', async () => {
      throw new Error('boom');
    });
    const next = mutex.run('alice', async () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
    await sleep(0);
    expect(mutex.busy('alice')).toBe(false);
  });
});
