import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@matrixos/shared';
import { Cron } from 'croner';
import type { JobHistory, RunRecord, RunTrigger } from './history.ts';
import { type JobProblem, type JobSpec, MANIFEST_FILE, parseManifest } from './manifest.ts';
import { changedFiles, commitAll, initRepo, isRepo } from './repo.ts';
import { checkModule, type RunOutcome, runJob, syntaxCheck } from './runJob.ts';

export interface JobView extends JobSpec {
  /** The owner's choice if they made one, else the manifest's `enabled`. */
  enabledNow: boolean;
  running: boolean;
  nextRun: string | null;
  lastRun: Pick<RunRecord, 'id' | 'status' | 'startedAt' | 'durationMs' | 'late'> | null;
}

export interface SchedulerDeps {
  dir: string;
  /** The working directory of every run: the owner's home. */
  home: string;
  history: JobHistory;
  log: Logger;
  /** The environment every run gets besides its secrets: the AI's URL and key. */
  baseEnv: () => Record<string, string>;
  secrets: (names: string[]) => Record<string, string>;
  notify: (jobId: string, text: string) => void;
  /** Called whenever the earliest next run or the running state may have changed. */
  onChange?: (state: { nextDue: Date | null; running: number }) => void;
  /** A run is in progress: the instance is in use (its idle timer must not run out). */
  onActivity?: () => void;
  clock?: () => number;
  /** Debounce for file changes; tests reload explicitly. */
  watchDebounceMs?: number;
}

export class JobNotFound extends Error {}
export class JobBusy extends Error {}

interface Loaded {
  spec: JobSpec;
  cron: Cron;
}

/**
 * The always-on scheduler over `~/jobs`: loads the manifest (one bad job never stops the others;
 * an unreadable manifest leaves the last good set running), schedules with croner, runs each job
 * in a child process with at most one run per job at a time, retries with exponential backoff,
 * records every attempt, commits every change to the repo, and reloads on file changes, one
 * reload at a time.
 */
export function createScheduler(deps: SchedulerDeps) {
  const { dir, history, log } = deps;
  const clock = deps.clock ?? Date.now;
  const jobs = new Map<string, Loaded>();
  const busy = new Set<string>();
  const chains = new Set<Promise<void>>();
  let problems: JobProblem[] = [];
  let manifestOk = true;
  let closed = false;
  const moduleVerdicts = new Map<string, JobProblem | null>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const stopping = new AbortController();
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });

  const isEnabled = (spec: JobSpec) => history.enabled(spec.id) ?? spec.enabled;

  function nextDue(): Date | null {
    let min: Date | null = null;
    for (const { spec, cron } of jobs.values()) {
      if (!isEnabled(spec)) continue;
      const next = cron.nextRun();
      if (next && (!min || next < min)) min = next;
    }
    return min;
  }

  function changed(): void {
    if (closed) return;
    deps.onChange?.({ nextDue: nextDue(), running: busy.size });
  }

  /** Module problems, cached by content: a reload re-checks only modules that changed. */
  async function checkJobModule(spec: JobSpec): Promise<JobProblem | null> {
    const file = join(dir, spec.module);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return {
        id: spec.id,
        file: spec.module,
        line: null,
        message: `module "${spec.module}" does not exist`,
      };
    }
    const key = `${spec.module}:${createHash('sha256').update(text).digest('hex')}`;
    if (moduleVerdicts.has(key)) {
      const known = moduleVerdicts.get(key) ?? null;
      return known && { ...known, id: spec.id };
    }
    // Checked on an earlier boot: a woken instance starts its due job without spawning checks.
    const stored = history.moduleCheck(key);
    if (stored !== undefined) {
      const verdict = stored === null ? null : (JSON.parse(stored) as JobProblem);
      moduleVerdicts.set(key, verdict);
      return verdict && { ...verdict, id: spec.id };
    }
    // One child for a good module; a second (`node --check`) only to find a syntax error's line.
    const problem = await checkModule(file, dir);
    let verdict: JobProblem | null = problem
      ? { id: spec.id, file: spec.module, line: null, message: problem }
      : null;
    if (verdict) {
      const syntax = await syntaxCheck(file);
      if (syntax) verdict = { id: spec.id, file: spec.module, line: syntax.line, message: syntax.message };
    }
    moduleVerdicts.set(key, verdict);
    history.setModuleCheck(key, verdict === null ? null : JSON.stringify(verdict));
    return verdict;
  }

  function schedule(spec: JobSpec): Cron {
    return new Cron(
      spec.cron,
      { timezone: spec.timezone, paused: !isEnabled(spec), unref: true },
      (self: Cron) => {
        const due = self.currentRun() ?? new Date(clock());
        history.setLastDue(spec.id, due.getTime());
        void runChain(spec.id, 'schedule', due.getTime()).catch((err) =>
          log.error({ err, job: spec.id }, 'job run failed'),
        );
        queueMicrotask(changed);
      },
    );
  }

  async function loadOnce(): Promise<void> {
    if (closed) return;
    if (!(await isRepo(dir))) await initRepo(dir);
    const dirty = await changedFiles(dir).catch(() => []);
    if (dirty.length) {
      const message = `Update ${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ` and ${dirty.length - 5} more` : ''}`;
      await commitAll(dir, message).catch((err) => log.error({ err }, 'jobs: auto-commit failed'));
    }
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
    } catch {
      text = '{"jobs": []}';
    }
    const parsed = parseManifest(text);
    if (!parsed.jobs) {
      // The last good manifest keeps running until a fixed one loads.
      manifestOk = false;
      problems = parsed.problems;
      log.warn({ problems }, 'jobs: the manifest does not load; the last good one keeps running');
      return;
    }
    manifestOk = true;
    const next: JobSpec[] = [];
    const found = [...parsed.problems];
    const verdicts = await Promise.all(parsed.jobs.map((spec) => checkJobModule(spec)));
    parsed.jobs.forEach((spec, i) => {
      const v = verdicts[i];
      if (v) found.push(v);
      else next.push(spec);
    });
    problems = found;
    const keep = new Set(next.map((s) => s.id));
    for (const [id, loaded] of jobs) {
      if (!keep.has(id)) {
        loaded.cron.stop();
        jobs.delete(id);
      }
    }
    for (const spec of next) {
      const old = jobs.get(spec.id);
      if (old && JSON.stringify(old.spec) === JSON.stringify(spec)) continue;
      old?.cron.stop();
      // First sight of a job: its schedule starts now (nothing before it was missed).
      if (history.lastDue(spec.id) === null) history.setLastDue(spec.id, clock());
      jobs.set(spec.id, { spec, cron: schedule(spec) });
    }
    if (problems.length) log.warn({ problems }, 'jobs: some jobs do not load');
  }

  /** One repo operation at a time: loads, syncs and the tools' writes never interleave. */
  let lock: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn);
    lock = run.catch(() => undefined);
    return run;
  }

  let reloading: Promise<void> | null = null;
  let again = false;
  /** Serialized: a reload asked for during one runs once after it, however many were asked. */
  function reload(): Promise<void> {
    if (reloading) {
      again = true;
      return reloading.then(() => reloading ?? undefined);
    }
    reloading = serial(async () => {
      do {
        again = false;
        await loadOnce().catch((err) => log.error({ err }, 'jobs: reload failed'));
      } while (again && !closed);
    }).finally(() => {
      reloading = null;
      changed();
    });
    return reloading;
  }

  /** Runs `fn` with the repo to itself (no reload meanwhile), then reloads what it changed. */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await serial(fn);
    } finally {
      await reload();
    }
  }

  function setBusy(id: string, on: boolean): void {
    if (on) busy.add(id);
    else busy.delete(id);
    clearInterval(heartbeat);
    heartbeat = undefined;
    if (busy.size > 0) {
      deps.onActivity?.();
      heartbeat = setInterval(() => {
        deps.onActivity?.();
        changed();
      }, 10_000);
      heartbeat.unref();
    }
    changed();
  }

  async function attempt(
    spec: JobSpec,
    trigger: RunTrigger,
    n: number,
    scheduledAt: number | null,
  ): Promise<RunOutcome> {
    const startedAt = clock();
    const runId = history.start({ jobId: spec.id, trigger, attempt: n, scheduledAt, startedAt });
    const outcome = await runJob({
      module: join(dir, spec.module),
      cwd: deps.home,
      env: { ...deps.secrets(spec.secrets), ...deps.baseEnv() },
      timeoutMs: spec.timeoutSeconds * 1000,
      memoryMb: spec.memoryMb,
      onNotify: (text) => deps.notify(spec.id, text),
      signal: stopping.signal,
      now: clock,
    });
    history.finish(runId, spec.id, outcome, clock());
    log.info({ job: spec.id, status: outcome.status, ms: outcome.durationMs, attempt: n }, 'job ran');
    return outcome;
  }

  /** One run and its retries; the job stays busy (no other run of it starts) until all are done. */
  function runChain(id: string, trigger: RunTrigger, scheduledAt: number | null): Promise<void> {
    const loaded = jobs.get(id);
    if (!loaded || busy.has(id) || closed) return Promise.resolve();
    const chain = runAttempts(loaded.spec, trigger, scheduledAt).finally(() => chains.delete(chain));
    chains.add(chain);
    return chain;
  }

  async function runAttempts(spec: JobSpec, trigger: RunTrigger, scheduledAt: number | null): Promise<void> {
    const id = spec.id;
    setBusy(id, true);
    try {
      let outcome = await attempt(spec, trigger, 1, scheduledAt);
      for (let n = 2; outcome.status !== 'success' && n <= spec.retries + 1 && !closed; n++) {
        const wait = spec.backoffSeconds * 1000 * 2 ** (n - 2);
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            retryTimers.delete(t);
            resolve();
          }, wait);
          retryTimers.add(t);
        });
        if (closed) break;
        outcome = await attempt(spec, 'retry', n, scheduledAt);
      }
    } finally {
      setBusy(id, false);
    }
  }

  /** At most one catch-up per job for the runs missed while the instance was down. */
  function catchUp(): void {
    const now = clock();
    for (const { spec, cron } of jobs.values()) {
      if (!isEnabled(spec)) continue;
      const lastDue = history.lastDue(spec.id);
      if (lastDue === null) continue;
      const missed = cron.nextRun(new Date(lastDue));
      if (missed && missed.getTime() <= now) {
        const previous = cron.previousRuns(1, new Date(now))[0] ?? missed;
        history.setLastDue(spec.id, previous.getTime());
        log.info({ job: spec.id, due: previous.toISOString() }, 'jobs: catching up a missed run');
        void runChain(spec.id, 'catch-up', previous.getTime());
      }
    }
  }

  function view(spec: JobSpec, cron: Cron): JobView {
    const last = history.lastRun(spec.id);
    const enabledNow = isEnabled(spec);
    return {
      ...spec,
      enabledNow,
      running: busy.has(spec.id),
      nextRun: enabledNow ? (cron.nextRun()?.toISOString() ?? null) : null,
      lastRun: last
        ? {
            id: last.id,
            status: last.status,
            startedAt: last.startedAt,
            durationMs: last.durationMs,
            late: last.late,
          }
        : null,
    };
  }

  let starting: Promise<void> | undefined;
  /** Each step checks `closed`: a shutdown during the first load must not touch a closed history. */
  async function startOnce(opts: { watch?: boolean }): Promise<void> {
    if (!(await isRepo(dir))) await initRepo(dir);
    if (closed) return;
    // Watching before the first load: a change made during it is loaded right after.
    if (opts.watch ?? true) {
      try {
        watcher = watch(dir, { recursive: true }, (_event, name) => {
          if (typeof name === 'string' && (name === '.git' || name.startsWith('.git/'))) return;
          clearTimeout(debounce);
          debounce = setTimeout(() => void reload(), deps.watchDebounceMs ?? 300);
        });
        watcher.on('error', (err) => log.warn({ err }, 'jobs: watching the repo failed'));
      } catch (err) {
        log.warn({ err }, 'jobs: cannot watch the repo; changes load on the next API change');
      }
    }
    await reload();
    if (closed) return;
    catchUp();
    markStarted();
    changed();
  }

  function mustGet(id: string): Loaded {
    const loaded = jobs.get(id);
    if (!loaded) throw new JobNotFound(`no job "${id}"`);
    return loaded;
  }

  return {
    /** Loads the repo (creating it on first boot), catches up missed runs, and starts watching. */
    start(opts: { watch?: boolean } = {}): Promise<void> {
      starting ??= startOnce(opts);
      return starting;
    },
    /** Settles once the first load is done (the API waits for it: a boot answers /health first). */
    started,
    reload,
    exclusive,
    list(): JobView[] {
      return [...jobs.values()].map(({ spec, cron }) => view(spec, cron));
    },
    get(id: string): JobView {
      const { spec, cron } = mustGet(id);
      return view(spec, cron);
    },
    problems: () => ({ manifestOk, problems }),
    /** Starts a run now; the promise settles when it (and its retries) end. */
    runNow(id: string): { done: Promise<void> } {
      mustGet(id);
      if (busy.has(id)) throw new JobBusy(`job "${id}" is already running`);
      const done = runChain(id, 'manual', null);
      return { done };
    },
    setEnabled(id: string, enabled: boolean): JobView {
      const { spec, cron } = mustGet(id);
      history.setEnabled(id, enabled);
      if (enabled) {
        // Enabling does not catch up what was skipped while disabled.
        history.setLastDue(id, clock());
        cron.resume();
      } else cron.pause();
      changed();
      return view(spec, cron);
    },
    nextDue,
    isBusy: () => busy.size > 0,
    async close(): Promise<void> {
      closed = true;
      stopping.abort();
      watcher?.close();
      clearTimeout(debounce);
      clearInterval(heartbeat);
      for (const t of retryTimers) clearTimeout(t);
      for (const { cron } of jobs.values()) cron.stop();
      await starting?.catch(() => undefined);
      await reloading?.catch(() => undefined);
      // Runs in flight were killed above; their records are written before the history closes.
      await Promise.allSettled([...chains]);
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
