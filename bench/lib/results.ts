import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Prints a bench's markdown and keeps it with its figures in bench/results/<name>-<time>.{md,json}. */
export function writeResults(name: string, md: string, results: unknown): void {
  console.log(md);
  const outDir = path.resolve(import.meta.dirname, '../results');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(path.join(outDir, `${name}-${stamp}.md`), `${md}\n`);
  writeFileSync(path.join(outDir, `${name}-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
}
