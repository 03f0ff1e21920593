import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_DOC, renderApiDoc, routeTable } from '../../../scripts/docs-api.ts';
import { platformOpenApi } from '../src/api/contract/openapi.ts';

describe('docs/api.md', () => {
  it('has the route tables the OpenAPI documents give (run `npm run docs:api` after changing a route)', () => {
    const current = readFileSync(API_DOC, 'utf8');
    expect(current).toContain('<!-- routes: platform admin -->');
    expect(current).toContain('<!-- routes: gateway files -->');
    expect(renderApiDoc(current)).toBe(current);
  });

  it('lists every described platform route in one of its tables', () => {
    const current = readFileSync(API_DOC, 'utf8');
    for (const [path, ops] of Object.entries(platformOpenApi().paths ?? {})) {
      for (const method of Object.keys(ops)) expect(current).toContain(`\`${method.toUpperCase()} ${path}\``);
    }
  });

  it('says once, under a table, what every row of it may answer, in columns as Biome aligns them', () => {
    const doc = {
      paths: {
        '/a': {
          get: {
            tags: ['t'],
            summary: 'a',
            responses: { 200: { description: 'ok' }, 401: { description: 'no' } },
          },
        },
        '/b': {
          post: {
            tags: ['t'],
            summary: 'b',
            responses: { 201: { description: 'made' }, 401: { description: 'no' } },
          },
        },
      },
    };
    expect(routeTable(doc, 't')).toBe(
      [
        '| method and path | does | answers    |',
        '| --------------- | ---- | ---------- |',
        '| `GET /a`        | a    | `200` ok   |',
        '| `POST /b`       | b    | `201` made |',
        '',
        'Each of these may also answer: `401` no.',
        '',
      ].join('\n'),
    );
  });

  it('refuses a table for a tag no route has, instead of writing an empty one', () => {
    expect(() => renderApiDoc('<!-- routes: platform nothing -->\n<!-- /routes -->')).toThrow(/nothing/);
  });
});
