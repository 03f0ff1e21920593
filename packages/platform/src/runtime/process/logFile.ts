import { copyFileSync, readFileSync, statSync, truncateSync } from 'node:fs';

/**
 * Keeps an instance's log under `maxBytes` plus one older generation (`<file>.1`). The instance
 * writes with O_APPEND, so cutting the file to zero under it is safe: its next line lands at the
 * new end.
 */
export function rotateIfLarge(file: string, maxBytes: number): void {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return;
  }
  if (size <= maxBytes) return;
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
}

/** The last `tail` lines of the log, reaching into the older generation when the current is short. */
export function tailLines(file: string, tail: number): string {
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  let lines = read(file).split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < tail) {
    const older = read(`${file}.1`).split('\n');
    if (older.at(-1) === '') older.pop();
    lines = [...older, ...lines];
  }
  const kept = lines.slice(Math.max(0, lines.length - tail));
  return kept.length ? `${kept.join('\n')}\n` : '';
}
