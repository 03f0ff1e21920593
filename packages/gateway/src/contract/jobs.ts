import { badBody, failure, json, jsonBody, type OpenAPIRegistry, routeTable } from '@matrixos/shared';
import { z } from 'zod';
import { JOB_ID_PATTERN } from '../jobs/manifest.ts';
import { remoteSchema } from '../jobs/sync.ts';
import { denied, owner } from './owner.ts';

/** `PUT /api/jobs/secrets/{name}` (the handler validates with it). */
export const secretValueSchema = z.strictObject({ value: z.string().min(1).max(8192) });

const time = z.iso.datetime();
const runStatus = z.enum(['success', 'failure', 'timeout', 'running']);
const runRecord = z
  .object({
    id: z.number().int(),
    jobId: z.string(),
    trigger: z.enum(['schedule', 'manual', 'retry', 'catch-up']),
    attempt: z.number().int(),
    status: runStatus,
    scheduledAt: z.string().nullable().meta({ description: 'null for a manual run' }),
    startedAt: z.string(),
    durationMs: z.number().nullable(),
    exitCode: z.number().int().nullable(),
    error: z.string().nullable(),
    late: z.boolean().meta({ description: 'started more than a minute after its scheduled time' }),
  })
  .meta({ id: 'JobRun' });
export const jobRunReply = runRecord.extend({ output: z.string() });
export const jobRunsReply = z.object({ runs: z.array(runRecord.extend({ outputBytes: z.number().int() })) });
export const jobReply = z
  .object({
    id: z.string(),
    module: z.string(),
    cron: z.string(),
    timezone: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    timeoutSeconds: z.number().int(),
    memoryMb: z.number().int(),
    retries: z.number().int(),
    backoffSeconds: z.number(),
    secrets: z.array(z.string()),
    enabledNow: z.boolean().meta({ description: "the owner's choice if they made one, else `enabled`" }),
    running: z.boolean(),
    nextRun: z.string().nullable(),
    lastRun: runRecord
      .pick({ id: true, status: true, startedAt: true, durationMs: true, late: true })
      .nullable(),
  })
  .meta({ id: 'Job' });
const problem = z.object({
  id: z.string().nullable(),
  file: z.string(),
  line: z.number().int().nullable(),
  message: z.string(),
});
export const jobsReply = z.object({
  jobs: z.array(jobReply),
  manifestOk: z.boolean(),
  problems: z.array(problem),
  nextDue: time.nullable(),
});
const remoteView = z
  .object({ url: z.string(), username: z.string().nullable(), hasCredentials: z.boolean() })
  .nullable();
const repoStatus = z.object({
  initialized: z.boolean(),
  branch: z.string().nullable(),
  head: z.string().nullable(),
  commits: z.number().int(),
  dirty: z.array(z.string()),
});
export const repoReply = repoStatus.extend({ path: z.literal('jobs'), remote: remoteView });
export const repoInitReply = repoStatus.extend({ wrote: z.array(z.string()), created: z.boolean() });
export const secretNamesReply = z.object({ names: z.array(z.string()) });
export const syncReply = z.object({
  action: z.enum(['up-to-date', 'pushed', 'fast-forwarded', 'rebased', 'rebased-and-pushed']),
  head: z.string(),
  remoteHead: z.string().nullable(),
  replayed: z.number().int(),
});

const limited = { 429: failure('too many changes in the window (`rate_limited`, with `Retry-After`)') };
const idParam = z.object({ id: z.string().regex(JOB_ID_PATTERN) });
const badId = { 400: failure('not a job id (`invalid_job_id`)') };
const notFound = { 404: failure('no such job (`job_not_found`)') };
const noSync = { 501: failure('remote sync is not available (`sync_unavailable`)') };

/** The jobs routes (`jobs/routes.ts`): scheduled modules in the owner's `jobs` repo. */
export function registerJobs(registry: OpenAPIRegistry): void {
  const route = routeTable(registry, { tags: ['jobs'], security: owner, common: denied });

  route('get', '/api/jobs', 'the jobs of the manifest, its problems, and the next one due', {
    200: json('the jobs', jobsReply),
  });
  route('get', '/api/jobs/repo', 'the jobs repo: branch, head, uncommitted files, remote', {
    200: json('the repo', repoReply),
  });
  route(
    'post',
    '/api/jobs/repo/init',
    'create the repo with a starter manifest (idempotent, never overwrites)',
    {
      200: json('the repo, and what was written', repoInitReply),
      ...limited,
    },
  );
  route('get', '/api/jobs/secrets', "the secrets' names (never their values)", {
    200: json('the names', secretNamesReply),
  });
  route(
    'put',
    '/api/jobs/secrets/{name}',
    'set a secret (sealed at rest), for jobs that list it',
    {
      200: json('the names now', secretNamesReply),
      ...badBody,
      400: failure('not an upper-case environment name (`invalid_secret_name`), or a bad body'),
      ...limited,
    },
    { params: z.object({ name: z.string() }), body: jsonBody(secretValueSchema) },
  );
  route(
    'delete',
    '/api/jobs/secrets/{name}',
    'forget a secret',
    { 204: { description: 'removed' }, 404: failure('no such secret (`secret_not_found`)'), ...limited },
    { params: z.object({ name: z.string() }) },
  );
  route(
    'post',
    '/api/jobs/{id}/run',
    'run a job now; `wait=true` answers when the run (and its retries) ended',
    {
      200: json('ended (`wait=true`): the last attempt', z.object({ run: jobRunReply.nullable() })),
      202: json('started: its record, if it has one yet', z.object({ run: jobRunReply.nullable() })),
      ...badId,
      ...notFound,
      409: failure('already running (`job_running`)'),
      ...limited,
    },
    { params: idParam, query: z.object({ wait: z.enum(['true', 'false']).optional() }) },
  );
  for (const action of ['enable', 'disable'] as const) {
    route(
      'post',
      `/api/jobs/{id}/${action}`,
      `${action} a job (the owner's choice, kept over the manifest's)`,
      { 200: json('the job now', jobReply), ...badId, ...notFound, ...limited },
      { params: idParam },
    );
  }
  route(
    'get',
    '/api/jobs/{id}',
    'one job',
    { 200: json('the job', jobReply), ...badId, ...notFound },
    { params: idParam },
  );
  route(
    'get',
    '/api/jobs/{id}/runs',
    'its runs, newest first, without their output',
    {
      200: json('the runs', jobRunsReply),
      ...badId,
      400: failure('not a job id (`invalid_job_id`), or `limit` not 1-200 (`invalid_query`)'),
    },
    { params: idParam, query: z.object({ limit: z.coerce.number().int().min(1).max(200).optional() }) },
  );
  route(
    'get',
    '/api/jobs/{id}/runs/{run}',
    'one run, with its output',
    {
      200: json('the run', jobRunReply),
      400: failure('not a job id (`invalid_job_id`) or a run id (`invalid_run_id`)'),
      404: failure('no such run (`run_not_found`)'),
    },
    { params: idParam.extend({ run: z.string() }) },
  );
  route('post', '/api/jobs/repo/sync', 'pull and push the remote (rebasing local commits)', {
    200: json('synced', syncReply),
    409: failure(
      'no remote is set (`no_remote`), or local and remote change the same lines (`sync_conflict`, with `files`); nothing changed',
    ),
    ...limited,
    ...noSync,
    502: failure('the remote did not answer or refused (`sync_failed`)'),
  });
  route(
    'put',
    '/api/jobs/repo/remote',
    'set the remote (credentials sealed at rest), or `{"url": null}` to drop it',
    { 200: json('the remote now', remoteView), ...badBody, ...limited, ...noSync },
    { body: jsonBody(remoteSchema) },
  );
}
