import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@matrixos/shared';
import type { Activity } from '../activity.ts';
import type { GatewayConfig } from '../config.ts';
import type { EventBus } from '../events/bus.ts';
import { homePaths } from '../home/layout.ts';
import type { Inbox } from '../inbox/store.ts';
import { DEFAULT_MODEL } from '../kernel/settings.ts';
import { createJobHistory } from './history.ts';
import { createPlatformReporter } from './platformReport.ts';
import { initRepo, repoStatus } from './repo.ts';
import { createScheduler } from './scheduler.ts';
import { createJobSecrets } from './secrets.ts';
import { cloneRepo, createRepoSync } from './sync.ts';

export const jobsPaths = (home: string) => ({
  repo: join(home, 'jobs'),
  history: join(homePaths(home).privateDir, 'jobs.db'),
  secrets: join(homePaths(home).privateDir, 'job-secrets.json'),
  remote: join(homePaths(home).privateDir, 'jobs-remote.json'),
});

export interface JobsDeps {
  config: Pick<GatewayConfig, 'home' | 'anthropicBaseUrl' | 'anthropicApiKey' | 'platformUrl' | 'jobsRepo'>;
  token: string;
  log: Logger;
  inbox: Inbox;
  bus: EventBus;
  activity: Activity;
  clock?: () => number;
}

/** The jobs of this instance: repo, scheduler, history, secrets, and the reports to the platform. */
export async function createJobs(deps: JobsDeps) {
  const { config, log } = deps;
  const paths = jobsPaths(config.home);
  const history = createJobHistory(paths.history);
  const secrets = await createJobSecrets(paths.secrets, deps.token);
  const reporter = createPlatformReporter({ url: config.platformUrl, token: deps.token, log });
  const scheduler = createScheduler({
    dir: paths.repo,
    home: config.home,
    history,
    log: log.child({ module: 'jobs' }),
    clock: deps.clock,
    baseEnv: () => {
      const env: Record<string, string> = { MATRIXOS_JOB_MODEL: DEFAULT_MODEL };
      if (config.anthropicApiKey) {
        env.ANTHROPIC_BASE_URL = config.anthropicBaseUrl;
        env.ANTHROPIC_API_KEY = config.anthropicApiKey;
      }
      return env;
    },
    secrets: (names) => secrets.pick(names),
    notify: (jobId, text) => {
      void deps.inbox.append({ text, from: `job:${jobId}` }).then(
        (message) => deps.bus.publish({ type: 'inbox.message', message }),
        (err) => log.error({ err, job: jobId }, 'jobs: could not deliver a message to the inbox'),
      );
    },
    onActivity: () => deps.activity.touch(),
    onChange: (state) => void reporter.report(state),
  });
  // A change made through the gateway's own file API, tools or channels reloads the jobs at once,
  // whether or not the kernel let the scheduler watch the folder: inotify instances are counted
  // per uid on the host, which every tenant's container shares (a busy host runs out of them, and
  // a manifest written over the API then never loaded).
  const unsubscribe = deps.bus.subscribe((event) => {
    if (event.type !== 'files.changed') return;
    if (event.path !== 'jobs' && !event.path.startsWith('jobs/')) return;
    void scheduler.started.then(() => scheduler.reload());
  });
  const sync = createRepoSync({
    dir: paths.repo,
    file: paths.remote,
    token: deps.token,
    scheduler,
    log: log.child({ module: 'jobs-sync' }),
  });
  let closing: Promise<void> | undefined;
  return {
    scheduler,
    history,
    secrets,
    sync,
    repoDir: paths.repo,
    async init() {
      const result = await initRepo(paths.repo);
      await scheduler.reload();
      return result;
    },
    repoStatus: () => repoStatus(paths.repo),
    async start(opts?: { watch?: boolean }): Promise<void> {
      // Only into a fresh ~/jobs (nothing but the template's README): a clone never replaces
      // (or, failing, removes) anything of the owner's.
      if (config.jobsRepo && (await onlyTemplate(paths.repo))) {
        try {
          await rm(paths.repo, { recursive: true, force: true });
          await cloneRepo(paths.repo, config.jobsRepo);
          await sync.setRemote({ url: config.jobsRepo });
          log.info({ url: config.jobsRepo }, 'jobs: cloned the jobs repo this instance was provisioned with');
        } catch (err) {
          // The starter repo instead; the owner sees the error in the log and can sync later.
          log.error(
            { err: (err as Error).message, url: config.jobsRepo },
            'jobs: could not clone the jobs repo',
          );
          await rm(paths.repo, { recursive: true, force: true });
        }
      }
      await scheduler.start(opts);
    },
    /** Stops scheduling, and tells the platform the next due time before the instance stops. */
    close(): Promise<void> {
      closing ??= (async () => {
        unsubscribe();
        const nextDue = scheduler.nextDue();
        await scheduler.close();
        await reporter.report({ nextDue, running: 0 });
        await reporter.flush();
        history.close();
      })();
      return closing;
    },
  };
}

export type Jobs = Awaited<ReturnType<typeof createJobs>>;

/** `~/jobs` is absent, or holds only what the home template put there (no repo yet). */
async function onlyTemplate(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).every((name) => name === 'README.md');
  } catch {
    return true;
  }
}
