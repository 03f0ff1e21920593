import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.ts';

const entry = (over: Record<string, unknown> = {}) => ({
  id: 'a',
  module: 'a.mjs',
  cron: '0 8 * * *',
  ...over,
});
const manifest = (...jobs: unknown[]) => JSON.stringify({ jobs }, null, 2);

describe('parseManifest', () => {
  it('fills the defaults of a minimal entry', () => {
    const { jobs, problems } = parseManifest(manifest(entry()));
    expect(problems).toEqual([]);
    expect(jobs).toEqual([
      {
        id: 'a',
        module: 'a.mjs',
        cron: '0 8 * * *',
        timezone: 'UTC',
        description: '',
        enabled: true,
        timeoutSeconds: 60,
        memoryMb: 128,
        retries: 0,
        backoffSeconds: 30,
        secrets: [],
      },
    ]);
  });

  it.each([
    ['a bad cron', entry({ cron: '61 * * * *' }), /cron "61 \* \* \* \*"/],
    ['an unknown time zone', entry({ timezone: 'Mars/Olympus' }), /Mars\/Olympus/],
    ['a module outside the repo', entry({ module: '../etc/x.mjs' }), /module/],
    ['an absolute module path', entry({ module: '/etc/x.mjs' }), /module/],
    ['a module that is not JavaScript', entry({ module: 'a.sh' }), /module/],
    ['a bad id', entry({ id: 'Not Ok' }), /id/],
    ['an unknown field', entry({ func: 'x' }), /func|unrecognized/i],
    ['a timeout too long', entry({ timeoutSeconds: 99999 }), /timeoutSeconds/],
    ['a lower-case secret name', entry({ secrets: ['token'] }), /secrets/],
  ])('reports %s on its own line and keeps the other jobs', (_name, bad, message) => {
    const text = manifest(entry({ id: 'good' }), bad);
    const { jobs, problems } = parseManifest(text);
    expect(jobs?.map((j) => j.id)).toEqual(['good']);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(message);
    expect(problems[0]?.file).toBe('jobs.json');
    // The second entry starts on the line after the first entry's closing brace.
    const line = text.split('\n').findIndex((l, i) => i > 3 && l.trim() === '{') + 1;
    expect(problems[0]?.line).toBe(line);
  });

  it('reports a duplicate id and keeps the first', () => {
    const { jobs, problems } = parseManifest(manifest(entry(), entry({ cron: '* * * * *' })));
    expect(jobs?.map((j) => j.cron)).toEqual(['0 8 * * *']);
    expect(problems[0]?.message).toMatch(/duplicate/);
  });

  it.each([
    ['broken JSON', '{\n  "jobs": [\n    {"id": "a"\n  ]\n}', 4],
    ['no jobs array', '{"tasks": []}', 1],
    ['an array at the top', '[]', 1],
  ])('returns no jobs (the caller keeps the last good set) for %s, with the line', (_n, text, line) => {
    const { jobs, problems } = parseManifest(text);
    expect(jobs).toBeNull();
    expect(problems).toEqual([{ id: null, file: 'jobs.json', line, message: expect.any(String) }]);
  });

  it('accepts croner seconds-level schedules', () => {
    expect(parseManifest(manifest(entry({ cron: '*/5 * * * * *' }))).problems).toEqual([]);
  });
});
