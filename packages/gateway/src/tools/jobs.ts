import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError } from '@matrixos/shared';
import { Cron } from 'croner';
import { z } from 'zod';
import { JOB_ID_PATTERN, MANIFEST_FILE, parseManifest } from '../jobs/manifest.ts';
import { commitAll } from '../jobs/repo.ts';
import { checkModule, syntaxCheck } from '../jobs/runJob.ts';
import type { Jobs } from '../jobs/service.ts';
import { defineTool, type ToolSpec } from './tool.ts';

const NEXT_RUNS = 3;

const saveInput = z.strictObject({
  id: z
    .string()
    .regex(JOB_ID_PATTERN)
    .describe('lower-case letters, digits and hyphens, e.g. "morning-digest"'),
  cron: z
    .string()
    .min(1)
    .max(200)
    .describe('cron: "minute hour day month weekday" (or six fields with seconds first), e.g. "0 8 * * *"'),
  timezone: z.string().min(1).max(64).default('UTC').describe('IANA time zone the cron is read in'),
  description: z.string().max(500).default('').describe("what the job does, in the owner's words"),
  code: z
    .string()
    .min(1)
    .max(64 * 1024)
    .describe(
      "The ES module: `export default async function run(ctx) {...}`. ctx.ai(prompt) returns the AI's answer " +
        "as text, ctx.notify(text) puts a message in the owner's inbox; node:fs/promises reads and writes the " +
        'home (the working directory), e.g. "notes/today.md"; process.env holds the declared secrets only.',
    ),
  enabled: z.boolean().default(true),
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
  retries: z.number().int().min(0).max(10).default(0),
  secrets: z
    .array(z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/))
    .max(32)
    .default([]),
});

/**
 * save_job and list_jobs: the AI creates, changes and explains jobs. save_job writes the module
 * and the manifest entry, validates both (cron by croner, the module by `node --check` and a
 * load in a child process), commits them with a clear message, and answers with the next run
 * times. An invalid job changes nothing.
 */
export function jobTools({ jobs }: { jobs: Jobs }): ToolSpec[] {
  const dir = jobs.repoDir;

  async function save(input: z.infer<typeof saveInput>): Promise<string> {
    const manifestPath = join(dir, MANIFEST_FILE);
    const before = await readFile(manifestPath, 'utf8').catch(() => '{"jobs": []}');
    const parsed = parseManifest(before);
    if (!parsed.jobs) {
      throw new HttpError(
        409,
        'manifest_broken',
        `${MANIFEST_FILE} does not parse: ${parsed.problems[0]?.message}`,
      );
    }
    const raw = JSON.parse(before) as { jobs: Record<string, unknown>[] };
    const module = `${input.id}.mjs`;
    const entry = {
      id: input.id,
      module,
      cron: input.cron,
      timezone: input.timezone,
      description: input.description,
      enabled: input.enabled,
      timeoutSeconds: input.timeoutSeconds,
      retries: input.retries,
      secrets: input.secrets,
    };
    const existed = raw.jobs.some((j) => j.id === input.id);
    raw.jobs = existed ? raw.jobs.map((j) => (j.id === input.id ? entry : j)) : [...raw.jobs, entry];
    const after = `${JSON.stringify(raw, null, 2)}\n`;
    const check = parseManifest(after).problems.find((p) => p.id === input.id);
    if (check) throw new HttpError(400, 'invalid_job', check.message);

    const modulePath = join(dir, module);
    const oldModule = await readFile(modulePath, 'utf8').catch(() => null);
    await writeFile(modulePath, input.code);
    const problem =
      (await syntaxCheck(modulePath).then((s) => s && `${module} line ${s.line ?? '?'}: ${s.message}`)) ??
      (await checkModule(modulePath, dir));
    if (problem) {
      if (oldModule === null) await rm(modulePath, { force: true });
      else await writeFile(modulePath, oldModule);
      throw new HttpError(400, 'invalid_job', problem);
    }
    await writeFile(manifestPath, after);
    await commitAll(dir, `${existed ? 'Change' : 'Add'} job ${input.id}: ${input.description || input.cron}`);
    return existed ? 'changed' : 'added';
  }

  const saveJob = defineTool({
    name: 'save_job',
    description:
      'Create or change a scheduled job (code in ~/jobs, run on a cron schedule in its own process, even ' +
      'while the owner is away). Validates it, commits it to the jobs repo, and tells you its next run times.',
    input: saveInput,
    describe: (input) => `${input.id} (${input.cron})`,
    async run(input) {
      const action = await jobs.scheduler.exclusive(() => save(input));
      const runs = new Cron(input.cron, { timezone: input.timezone, paused: true })
        .nextRuns(NEXT_RUNS)
        .map((d) => d.toISOString());
      const when = input.enabled ? `Next runs (UTC): ${runs.join(', ')}.` : 'It is disabled until enabled.';
      return {
        content: `Job ${input.id} ${action} and committed. ${when}`,
        summary: `Job ${input.id} ${action}: ${input.cron} ${input.timezone}`,
      };
    },
  });

  const listJobs = defineTool({
    name: 'list_jobs',
    description: "The owner's scheduled jobs: schedule, next run, last result, and any that fail to load.",
    input: z.strictObject({}),
    describe: () => 'jobs',
    async run() {
      await jobs.scheduler.started;
      const list = jobs.scheduler.list().map((j) => ({
        id: j.id,
        cron: j.cron,
        timezone: j.timezone,
        description: j.description,
        enabled: j.enabledNow,
        nextRun: j.nextRun,
        lastRun: j.lastRun,
      }));
      return {
        content: JSON.stringify({ jobs: list, problems: jobs.scheduler.problems().problems }),
        summary: `${list.length} jobs`,
      };
    },
  });

  return [saveJob, listJobs];
}
