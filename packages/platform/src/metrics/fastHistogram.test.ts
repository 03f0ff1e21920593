import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { fastHistogram } from './fastHistogram.ts';

describe('fastHistogram', () => {
  it.each([
    // observations, expected cumulative buckets (le 0.1, 1, +Inf), count
    [[], [0, 0, 0]],
    [[0.05], [1, 1, 1]],
    [[0.1], [1, 1, 1]], // a bound is inclusive (le)
    [
      [0.5, 2],
      [0, 1, 2],
    ],
    [
      [5, 5, 0.01],
      [1, 1, 3],
    ],
  ])('observes %j into cumulative buckets %j', async (observations, expected) => {
    const registry = new Registry();
    const h = fastHistogram({
      name: 'x_seconds',
      help: 'x',
      label: 'code_class',
      values: ['2xx', '5xx'],
      buckets: [1, 0.1],
      registers: [registry],
    });
    for (const o of observations) h['2xx'].observe(o);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE x_seconds histogram');
    const [b1, b2, inf] = expected;
    expect(text).toContain(`x_seconds_bucket{le="0.1",code_class="2xx"} ${b1}`);
    expect(text).toContain(`x_seconds_bucket{le="1",code_class="2xx"} ${b2}`);
    expect(text).toContain(`x_seconds_bucket{le="+Inf",code_class="2xx"} ${inf}`);
    expect(text).toContain(`x_seconds_count{code_class="2xx"} ${observations.length}`);
    expect(text).toContain(`x_seconds_sum{code_class="2xx"} ${observations.reduce((a, b) => a + b, 0)}`);
    // Other label values are there from the start, at zero (no series appearing late).
    expect(text).toContain('x_seconds_count{code_class="5xx"} 0');
  });
});
