import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The runner beside the bundle (`bin/job-runner.mjs`), else its source in the repo. */
export const RUNNER = ['./job-runner.mjs', '../job-runner.mjs', './runner.ts']
  .map((p) => new URL(p, import.meta.url))
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p)) as string;

export type RunStatus = 'success' | 'failure' | 'timeout';

export interface RunOutcome {
  status: RunStatus;
  exitCode: number | null;
  output: string;
  error: string | null;
  durationMs: number;
}

export interface RunOptions {
  module: string;
  cwd: string;
  /** The whole environment of the child: its secrets and the AI's URL and key, nothing else. */
  env: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  onNotify?: (text: string) => void;
  onStart?: (pid: number | undefined) => void;
  /** Aborted: the run is killed at once (the gateway is shutting down). */
  signal?: AbortSignal;
  now?: () => number;
}

const OUTPUT_TAIL_BYTES = 16 * 1024;
const RSS_POLL_MS = 100;

/**
 * Runs one job in its own Node process: killed at its timeout, or when its memory passes the
 * limit: the V8 heap by `--max-old-space-size`, everything else (Buffers, native) by a watchdog
 * reading the child's resident size from /proc (an address-space rlimit would break V8, which
 * reserves far more address space than it uses).
 */
export function runJob(opts: RunOptions): Promise<RunOutcome> {
  const now = opts.now ?? Date.now;
  const started = now();
  let output = '';
  let killedFor: 'timeout' | 'memory' | null = null;
  const child: ChildProcess = fork(RUNNER, ['run', opts.module], {
    cwd: opts.cwd,
    env: opts.env,
    execPath: process.execPath,
    execArgv: [`--max-old-space-size=${opts.memoryMb}`, '--no-warnings'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  opts.onStart?.(child.pid);
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_TAIL_BYTES * 2) output = output.slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.on('message', (m: { type?: string; text?: unknown }) => {
    if (m?.type === 'notify' && typeof m.text === 'string') opts.onNotify?.(m.text.slice(0, 10_000));
  });
  const kill = (why: 'timeout' | 'memory') => {
    if (killedFor) return;
    killedFor = why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => kill('timeout'), opts.timeoutMs);
  const abort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', abort, { once: true });
  const limitBytes = opts.memoryMb * 1024 * 1024;
  const watchdog = setInterval(() => {
    if (!child.pid) return;
    readFile(`/proc/${child.pid}/status`, 'utf8').then(
      (s) => {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
        // The heap limit plus room for Node itself (~40 MB resident before any job code).
        if (kb * 1024 > limitBytes + 64 * 1024 * 1024) kill('memory');
      },
      () => undefined,
    );
  }, RSS_POLL_MS);

  return new Promise((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', abort);
      const tail = output.slice(-OUTPUT_TAIL_BYTES);
      const durationMs = now() - started;
      const oom = /heap out of memory|Allocation failed/.test(tail);
      if (killedFor === 'timeout')
        return resolve({
          status: 'timeout',
          exitCode: null,
          output: tail,
          error: `killed at its timeout (${Math.round(opts.timeoutMs / 1000)} s)`,
          durationMs,
        });
      if (killedFor === 'memory' || oom)
        return resolve({
          status: 'failure',
          exitCode: code,
          output: tail,
          error: `killed: over its memory limit (${opts.memoryMb} MB)`,
          durationMs,
        });
      if (opts.signal?.aborted)
        return resolve({
          status: 'failure',
          exitCode: null,
          output: tail,
          error: 'interrupted: the instance stopped during the run',
          durationMs,
        });
      if (spawnError)
        return resolve({
          status: 'failure',
          exitCode: null,
          output: tail,
          error: spawnError.message,
          durationMs,
        });
      if (code === 0)
        return resolve({ status: 'success', exitCode: 0, output: tail, error: null, durationMs });
      const lastLine = tail
        .trim()
        .split('\n')
        .filter((l) => /Error|error/.test(l))
        .at(-1);
      resolve({
        status: 'failure',
        exitCode: code,
        output: tail,
        error: signal ? `ended by ${signal}` : (lastLine?.slice(0, 500) ?? `exited with code ${code}`),
        durationMs,
      });
    };
    let done = false;
    child.once('error', (err) => {
      if (!done) {
        done = true;
        finish(null, null, err);
      }
    });
    child.once('close', (code, signal) => {
      if (!done) {
        done = true;
        finish(code, signal);
      }
    });
  });
}

/** Checks a module in a child: it imports and has a default export function. */
export function checkModule(module: string, cwd: string, timeoutMs = 10_000): Promise<string | null> {
  return new Promise((resolve) => {
    let verdict: string | null | undefined;
    let stderr = '';
    const child = fork(RUNNER, ['check', module], {
      cwd,
      env: {},
      execPath: process.execPath,
      execArgv: ['--max-old-space-size=64', '--no-warnings'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('message', (m: { type?: string; ok?: boolean; message?: string }) => {
      if (m?.type === 'check') verdict = m.ok ? null : (m.message ?? 'invalid module');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(
        verdict === undefined
          ? stderr.trim().split('\n').at(-1) || 'the module check did not finish'
          : verdict,
      );
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
  });
}

/** `node --check`: the one way to get a syntax error's line from Node for an ES module. */
export function syntaxCheck(module: string): Promise<{ line: number | null; message: string } | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--check', module], {
      env: {},
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.once('close', (code) => {
      if (code === 0) return resolve(null);
      const line = new RegExp(`${escapeRegExp(module)}:(\\d+)`).exec(stderr)?.[1];
      const message =
        stderr.split('\n').find((l) => /^\w*Error/.test(l)) ??
        stderr.trim().split('\n').at(-1) ??
        'syntax error';
      resolve({ line: line ? Number(line) : null, message });
    });
    child.once('error', (err) => resolve({ line: null, message: err.message }));
  });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
