import { describe, expect, it } from 'vitest';
import { readiness } from './healthRoute.ts';

const engineOk = { ok: true as const, running: 1, checkedAt: 'now' };
const engineDown = { ok: false as const, error: 'connect ENOENT', checkedAt: 'now' };
const proxyOk = { status: 'ok' as const, checkedAt: 'now', lastError: null };
const proxyDown = { status: 'unreachable' as const, checkedAt: 'now', error: 'refused', lastError: null };
const noProxy = { status: 'not_configured' as const, checkedAt: null, lastError: null };

describe('readiness', () => {
  it.each([
    ['all well', engineOk, { ok: true }, proxyOk, true, 'ok', 0],
    ['no proxy configured', engineOk, { ok: true }, noProxy, true, 'ok', 0],
    ['proxy unreachable: degraded, still ready', engineOk, { ok: true }, proxyDown, true, 'degraded', 1],
    ['engine down: not ready', engineDown, { ok: true }, proxyOk, false, 'degraded', 1],
    [
      'database unreadable: not ready',
      engineOk,
      { ok: false, error: 'SQLITE_CORRUPT' },
      proxyOk,
      false,
      'degraded',
      1,
    ],
    ['everything down', engineDown, { ok: false, error: 'x' }, proxyDown, false, 'degraded', 3],
  ])('%s', (_name, engine, db, proxy, ready, status, problems) => {
    const r = readiness({ engine, db, proxy });
    expect(r.ready).toBe(ready);
    expect(r.status).toBe(status);
    expect(r.problems).toHaveLength(problems);
  });
});
