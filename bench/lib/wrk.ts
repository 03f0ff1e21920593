import { spawn } from 'node:child_process';

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  /** Timeouts, socket errors and non-2xx answers wrk counted (kept, not fatal: a loaded machine times out). */
  errors: number;
}

export function parseWrk(out: string): WrkResult {
  const ms = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk output without ${p}%:\n${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), p50: ms('50'), p99: ms('99'), errors };
}

/** wrk in the background (1 thread, 16 connections), so something else can happen meanwhile. */
export function wrk(url: string, host: string | null, seconds: number, token?: string): Promise<WrkResult> {
  const args = ['-t1', '-c16', `-d${seconds}s`, '--latency'];
  if (host) args.push('-H', `Host: ${host}`);
  // Only a signed-in caller's requests count as the tenant being active (anonymous ones never wake it).
  if (token) args.push('-H', `Authorization: Bearer ${token}`);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [...args, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(parseWrk(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}
