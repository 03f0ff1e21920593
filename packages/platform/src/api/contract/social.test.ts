import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the social contract module', () => {
  it('imports nothing but zod, @matrixos/shared and common.ts (the instance image bundles it alone)', () => {
    for (const file of ['social.ts', 'common.ts']) {
      const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
      const imports = [...source.matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gms)].map((m) => m[1]);
      expect(
        imports.filter((i) => !['zod', '@matrixos/shared', './common.ts'].includes(i!)),
        file,
      ).toEqual([]);
    }
  });
});
