import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** CPU seconds (user + system) of some processes so far. */
export function cpuSeconds(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    sum += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return sum;
}

export function childrenOf(pid: number): number[] {
  const out = execFileSync('sh', ['-c', `pgrep -P ${pid} || true`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map(Number);
}

/** Until something accepts on 127.0.0.1:`port` (10 s at most). */
export async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}
