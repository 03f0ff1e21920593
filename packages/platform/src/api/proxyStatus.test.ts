import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createProxyStatus } from './proxyStatus.ts';

describe('createProxyStatus', () => {
  it('reads a proxy that comes up just after the platform as up soon, not one interval later', async () => {
    let up = false;
    const status = createProxyStatus({
      ping: async () => {
        if (!up) throw new Error('fetch failed');
      },
      intervalMs: 60_000,
      retryMs: 20,
    });
    status.start();
    await sleep(30);
    expect(status.current().status).toBe('unreachable');
    up = true;
    await sleep(200);
    status.stop();
    expect(status.current()).toMatchObject({ status: 'ok', lastError: { message: 'fetch failed' } });
  });

  it('stops looking once stopped', async () => {
    let calls = 0;
    const status = createProxyStatus({
      ping: async () => {
        calls++;
        throw new Error('down');
      },
      intervalMs: 60_000,
      retryMs: 10,
    });
    status.start();
    await sleep(50);
    status.stop();
    const seen = calls;
    await sleep(100);
    expect(calls).toBe(seen);
  });
});
