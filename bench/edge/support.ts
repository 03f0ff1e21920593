import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
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

/**
 * A self-signed ECDSA certificate for `*.localhost` and `localhost` in `dir`: cert.pem, key.pem,
 * and combined.pem (both, for HAProxy).
 */
export function selfSignedCert(dir: string): { cert: string; key: string; combined: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const combined = path.join(dir, 'combined.pem');
  execFileSync(
    'openssl',
    [
      ...[
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
      ],
      ...['-subj', '/CN=*.localhost', '-addext', 'subjectAltName=DNS:*.localhost,DNS:localhost'],
      ...['-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(combined, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  return { cert, key, combined };
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
