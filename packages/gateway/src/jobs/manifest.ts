import { Cron } from 'croner';
import { z } from 'zod';

/** Where the manifest lives inside the jobs repo. JSON: its parse errors name a line and column. */
export const MANIFEST_FILE = 'jobs.json';

export const JOB_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

const jobSchema = z.strictObject({
  id: z.string().regex(JOB_ID_PATTERN, 'must be lower-case letters, digits and hyphens, a letter first'),
  /** A module inside the repo, relative to it (`hello.mjs`, `jobs/digest.mjs`). */
  module: z
    .string()
    .regex(
      /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._/-]+\.m?js$/,
      'must be a .mjs or .js path inside the repo',
    ),
  cron: z.string().min(1).max(200),
  timezone: z.string().min(1).max(64).default('UTC'),
  description: z.string().max(500).default(''),
  enabled: z.boolean().default(true),
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
  memoryMb: z.number().int().min(16).max(1024).default(128),
  retries: z.number().int().min(0).max(10).default(0),
  backoffSeconds: z.number().min(0).max(3600).default(30),
  secrets: z
    .array(z.string().regex(SECRET_NAME, 'secret names are upper-case env names'))
    .max(32)
    .default([]),
});

export type JobSpec = z.infer<typeof jobSchema>;

/** A problem with one job (or, with `id` null, with the manifest as a whole), where it is. */
export interface JobProblem {
  id: string | null;
  file: string;
  line: number | null;
  message: string;
}

export interface ParsedManifest {
  /** Null when the manifest itself cannot be read: the caller keeps the last good one. */
  jobs: JobSpec[] | null;
  problems: JobProblem[];
}

/**
 * Reads the manifest text into the jobs it declares. Each entry stands alone: a bad one is
 * reported (with its line) and left out, and the others load. Pure; the module checks happen later.
 */
export function parseManifest(text: string): ParsedManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const line = /\(line (\d+) column \d+\)/.exec(message)?.[1];
    return {
      jobs: null,
      problems: [{ id: null, file: MANIFEST_FILE, line: line ? Number(line) : null, message }],
    };
  }
  const entries = (raw as { jobs?: unknown } | null)?.jobs;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Array.isArray(entries)) {
    return {
      jobs: null,
      problems: [{ id: null, file: MANIFEST_FILE, line: 1, message: 'expected an object {"jobs": [...]}' }],
    };
  }
  const lines = entryLines(text, entries.length);
  const jobs: JobSpec[] = [];
  const problems: JobProblem[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const line = lines[i] ?? null;
    const id = typeof (entry as { id?: unknown })?.id === 'string' ? (entry as { id: string }).id : null;
    const parsed = jobSchema.safeParse(entry);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || 'entry'}: ${issue.message}`)
        .join('; ');
      problems.push({ id, file: MANIFEST_FILE, line, message });
      return;
    }
    const job = parsed.data;
    if (seen.has(job.id)) {
      problems.push({ id: job.id, file: MANIFEST_FILE, line, message: `duplicate job id "${job.id}"` });
      return;
    }
    const cronProblem = checkCron(job.cron, job.timezone);
    if (cronProblem) {
      problems.push({ id: job.id, file: MANIFEST_FILE, line, message: cronProblem });
      return;
    }
    seen.add(job.id);
    jobs.push(job);
  });
  return { jobs, problems };
}

/** Croner's own parser decides (no hand-written cron parsing); its message says what is wrong. */
export function checkCron(pattern: string, timezone: string): string | null {
  try {
    const cron = new Cron(pattern, { timezone, paused: true });
    cron.nextRun();
    cron.stop();
    return null;
  } catch (err) {
    return `cron "${pattern}" (${timezone}): ${(err as Error).message}`;
  }
}

/**
 * The 1-based line where each element of the `jobs` array starts: a small scan that skips
 * strings and tracks nesting (JSON.parse gives no positions for valid input).
 */
function entryLines(text: string, count: number): number[] {
  const key = /"jobs"\s*:\s*\[/g.exec(text);
  if (!key) return [];
  const lines: number[] = [];
  let line = text.slice(0, key.index + key[0].length).split('\n').length;
  let depth = 0;
  let expecting = true;
  for (let i = key.index + key[0].length; i < text.length && lines.length <= count; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    else if (ch === '"') {
      if (depth === 0 && expecting) {
        lines.push(line);
        expecting = false;
      }
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '{' || ch === '[') {
      if (depth === 0 && expecting) {
        lines.push(line);
        expecting = false;
      }
      depth++;
    } else if (ch === '}' || ch === ']') {
      if (depth === 0) break;
      depth--;
    } else if (ch === ',' && depth === 0) expecting = true;
    else if (depth === 0 && expecting && !/\s/.test(ch ?? '')) {
      lines.push(line);
      expecting = false;
    }
  }
  return lines;
}
