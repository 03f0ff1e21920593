import { createLogger } from '@matrixos/shared';
import { describe, expect, it } from 'vitest';
import { createRouteTable, type RoutePublisher } from './routeTable.ts';

const log = createLogger('test', 'silent');

/** A publisher that records calls and answers each one when the test says. */
function recorder() {
  const calls: string[] = [];
  const gates: (() => void)[] = [];
  const later = (what: string) => {
    calls.push(`${what}:start`);
    return new Promise<void>((resolve) =>
      gates.push(() => {
        calls.push(`${what}:done`);
        resolve();
      }),
    );
  };
  const publisher: RoutePublisher = {
    publish: (h, e) => later(`publish ${h} ${e.host}:${e.port}`),
    withdraw: (h) => later(`withdraw ${h}`),
  };
  const flush = async () => {
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
  };
  return { calls, publisher, flush };
}

describe('createRouteTable', () => {
  it('publishes a running address once and withdraws it when the instance stops running, in order', async () => {
    const { calls, publisher, flush } = recorder();
    const routes = createRouteTable(publisher, log);
    routes.set('ann', { state: 'running', endpoint: { host: '10.0.0.2', port: 4000 } });
    routes.set('ann', { state: 'running', endpoint: { host: '10.0.0.2', port: 4000 } }); // unchanged
    routes.set('ann', { state: 'stopping', endpoint: null });
    routes.set('ann', { state: 'paused', endpoint: null }); // still not running: nothing more
    await flush();
    expect(calls).toEqual([
      'publish ann 10.0.0.2:4000:start',
      'publish ann 10.0.0.2:4000:done',
      'withdraw ann:start',
      'withdraw ann:done',
    ]);
  });

  it('lets a stop wait until the edge has dropped the route (settled)', async () => {
    const { calls, publisher, flush } = recorder();
    const routes = createRouteTable(publisher, log);
    routes.set('bo', { state: 'running', endpoint: { host: '10.0.0.3', port: 4000 } });
    routes.set('bo', { state: 'stopping', endpoint: null });
    let settled = false;
    const waiting = routes.settled('bo').then(() => {
      settled = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    await flush();
    await waiting;
    expect(settled).toBe(true);
    expect(calls.at(-1)).toBe('withdraw bo:done');
  });

  it('publishes a new address when a running instance moved, and withdraws on delete', async () => {
    const { calls, publisher, flush } = recorder();
    const routes = createRouteTable(publisher, log);
    routes.set('cy', { state: 'running', endpoint: { host: '10.0.0.4', port: 4000 } });
    routes.set('cy', { state: 'running', endpoint: { host: '10.0.0.9', port: 4000 } });
    routes.delete('cy');
    await flush();
    expect(calls.filter((c) => c.endsWith(':start'))).toEqual([
      'publish cy 10.0.0.4:4000:start',
      'publish cy 10.0.0.9:4000:start',
      'withdraw cy:start',
    ]);
    expect(routes.running().size).toBe(0);
  });

  it('keeps going when the edge fails a call (the edge falls back to the platform)', async () => {
    const routes = createRouteTable(
      { publish: () => Promise.reject(new Error('edge down')), withdraw: () => Promise.resolve() },
      log,
    );
    routes.set('di', { state: 'running', endpoint: { host: '10.0.0.5', port: 4000 } });
    await routes.settled('di');
    expect(routes.running().get('di')).toEqual({ host: '10.0.0.5', port: 4000 });
  });
});
