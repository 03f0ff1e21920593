import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { RunStatus } from './runJob.ts';

export type RunTrigger = 'schedule' | 'manual' | 'retry' | 'catch-up';

export interface RunRecord {
  id: number;
  jobId: string;
  trigger: RunTrigger;
  attempt: number;
  status: RunStatus | 'running';
  /** The time the schedule asked for (null for a manual run). */
  scheduledAt: string | null;
  startedAt: string;
  durationMs: number | null;
  exitCode: number | null;
  output: string;
  error: string | null;
  /** Started more than a minute after its scheduled time (a catch-up after downtime). */
  late: boolean;
}

interface Row {
  id: number;
  job_id: string;
  trigger: RunTrigger;
  attempt: number;
  status: RunRecord['status'];
  scheduled_at: number | null;
  started_at: number;
  duration_ms: number | null;
  exit_code: number | null;
  output: string;
  error: string | null;
  late: number;
}

const toRecord = (r: Row): RunRecord => ({
  id: r.id,
  jobId: r.job_id,
  trigger: r.trigger,
  attempt: r.attempt,
  status: r.status,
  scheduledAt: r.scheduled_at === null ? null : new Date(r.scheduled_at).toISOString(),
  startedAt: new Date(r.started_at).toISOString(),
  durationMs: r.duration_ms,
  exitCode: r.exit_code,
  output: r.output,
  error: r.error,
  late: r.late === 1,
});

/** Kept per job: the newest this many runs, none older than this. */
export const HISTORY_KEEP_RUNS = 200;
export const HISTORY_KEEP_MS = 30 * 24 * 3600 * 1000;

/**
 * Run history and the owner's enable/disable choices, in SQLite inside the home (node:sqlite:
 * built into Node 24, no native addon in the image). Survives restarts and moves with the volume.
 */
export function createJobHistory(file: string) {
  mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA busy_timeout = 5000;
    CREATE TABLE IF NOT EXISTS runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id TEXT NOT NULL,
      trigger TEXT NOT NULL,
      attempt INTEGER NOT NULL DEFAULT 1,
      status TEXT NOT NULL,
      scheduled_at INTEGER,
      started_at INTEGER NOT NULL,
      duration_ms INTEGER,
      exit_code INTEGER,
      output TEXT NOT NULL DEFAULT '',
      error TEXT,
      late INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS runs_job ON runs (job_id, id);
    CREATE TABLE IF NOT EXISTS module_checks (
      key TEXT PRIMARY KEY,
      problem TEXT
    );
    CREATE TABLE IF NOT EXISTS job_state (
      job_id TEXT PRIMARY KEY,
      enabled INTEGER,
      last_due_at INTEGER
    );
  `);
  // A run that was in flight when the gateway stopped never finished.
  db.prepare(`UPDATE runs SET status = 'failure', error = 'interrupted: the instance stopped during the run'
              WHERE status = 'running'`).run();

  const insert =
    db.prepare(`INSERT INTO runs (job_id, trigger, attempt, status, scheduled_at, started_at, late)
                             VALUES (?, ?, ?, 'running', ?, ?, ?) RETURNING id`);
  const finish = db.prepare(`UPDATE runs SET status = ?, duration_ms = ?, exit_code = ?, output = ?, error = ?
                             WHERE id = ?`);
  const byJob = db.prepare('SELECT * FROM runs WHERE job_id = ? ORDER BY id DESC LIMIT ?');
  const one = db.prepare('SELECT * FROM runs WHERE job_id = ? AND id = ?');
  const last = db.prepare('SELECT * FROM runs WHERE job_id = ? ORDER BY id DESC LIMIT 1');
  const pruneCount = db.prepare(`DELETE FROM runs WHERE job_id = ? AND id NOT IN
                                 (SELECT id FROM runs WHERE job_id = ? ORDER BY id DESC LIMIT ?)`);
  const pruneAge = db.prepare("DELETE FROM runs WHERE started_at < ? AND status != 'running'");
  const getState = db.prepare('SELECT enabled, last_due_at FROM job_state WHERE job_id = ?');
  const setEnabled = db.prepare(`INSERT INTO job_state (job_id, enabled) VALUES (?, ?)
                                 ON CONFLICT (job_id) DO UPDATE SET enabled = excluded.enabled`);
  const setDue = db.prepare(`INSERT INTO job_state (job_id, last_due_at) VALUES (?, ?)
                             ON CONFLICT (job_id) DO UPDATE SET last_due_at = excluded.last_due_at`);

  const getCheck = db.prepare('SELECT problem FROM module_checks WHERE key = ?');
  const putCheck = db.prepare('INSERT OR REPLACE INTO module_checks (key, problem) VALUES (?, ?)');

  return {
    /** A module's check verdict by content hash (undefined: never checked; null: fine). */
    moduleCheck(key: string): string | null | undefined {
      const r = getCheck.get(key) as { problem: string | null } | undefined;
      return r === undefined ? undefined : r.problem;
    },
    setModuleCheck(key: string, problem: string | null): void {
      putCheck.run(key, problem);
    },
    start(run: {
      jobId: string;
      trigger: RunTrigger;
      attempt: number;
      scheduledAt: number | null;
      startedAt: number;
    }): number {
      const late = run.scheduledAt !== null && run.startedAt - run.scheduledAt > 60_000 ? 1 : 0;
      const row = insert.get(run.jobId, run.trigger, run.attempt, run.scheduledAt, run.startedAt, late) as {
        id: number;
      };
      return row.id;
    },
    finish(
      id: number,
      jobId: string,
      r: {
        status: RunStatus;
        durationMs: number;
        exitCode: number | null;
        output: string;
        error: string | null;
      },
      now = Date.now(),
    ): void {
      finish.run(r.status, r.durationMs, r.exitCode, r.output, r.error, id);
      pruneCount.run(jobId, jobId, HISTORY_KEEP_RUNS);
      pruneAge.run(now - HISTORY_KEEP_MS);
    },
    runs(jobId: string, limit = 50): RunRecord[] {
      return (byJob.all(jobId, limit) as unknown as Row[]).map(toRecord);
    },
    run(jobId: string, id: number): RunRecord | null {
      const r = one.get(jobId, id) as unknown as Row | undefined;
      return r ? toRecord(r) : null;
    },
    lastRun(jobId: string): RunRecord | null {
      const r = last.get(jobId) as unknown as Row | undefined;
      return r ? toRecord(r) : null;
    },
    /** The owner's choice, or null: the manifest's default applies. */
    enabled(jobId: string): boolean | null {
      const r = getState.get(jobId) as { enabled: number | null } | undefined;
      return r?.enabled === null || r?.enabled === undefined ? null : r.enabled === 1;
    },
    setEnabled(jobId: string, enabled: boolean): void {
      setEnabled.run(jobId, enabled ? 1 : 0);
    },
    /** The last scheduled time this job was run for (or first seen), for missed-run catch-up. */
    lastDue(jobId: string): number | null {
      const r = getState.get(jobId) as { last_due_at: number | null } | undefined;
      return r?.last_due_at ?? null;
    },
    setLastDue(jobId: string, at: number): void {
      setDue.run(jobId, at);
    },
    close(): void {
      db.close();
    },
  };
}

export type JobHistory = ReturnType<typeof createJobHistory>;
