import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

export interface VolumeEnd {
  engine: Docker;
  volume: string;
}

/**
 * Copies one named volume to another engine's volume, through the platform: a `tar` container on
 * each side (from `image`, which must have tar), the archive streamed from one's stdout to the
 * other's stdin. Owners and modes are kept (root in those two containers, which have only the
 * capabilities tar needs and no network). Resolves with the number of entries copied; throws if
 * either side fails or the target lists a different number.
 */
export async function copyVolume(from: VolumeEnd, to: VolumeEnd, image: string): Promise<number> {
  const host = (volume: string, target: string, readOnly: boolean): Docker.HostConfig => ({
    Mounts: [{ Type: 'volume', Source: volume, Target: target, ReadOnly: readOnly }],
    NetworkMode: 'none',
    CapDrop: ['ALL'],
    CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'],
    SecurityOpt: ['no-new-privileges'],
  });
  await to.engine.createVolume({ Name: to.volume });
  const reader = await from.engine.createContainer({
    Image: image,
    User: '0',
    Entrypoint: ['tar', '-C', '/from', '-cf', '-', '.'],
    Cmd: [],
    HostConfig: host(from.volume, '/from', true),
  });
  const writer = await to.engine.createContainer({
    Image: image,
    User: '0',
    Entrypoint: ['tar', '-C', '/to', '-xpf', '-'],
    Cmd: [],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    HostConfig: host(to.volume, '/to', false),
  });
  try {
    const stdin = (await writer.attach({
      stream: true,
      stdin: true,
      hijack: true,
    })) as NodeJS.ReadWriteStream;
    await writer.start();
    const out = (await reader.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const tarOut = new PassThrough();
    const errors: Buffer[] = [];
    const stderr = new PassThrough();
    stderr.on('data', (c: Buffer) => errors.push(c));
    from.engine.modem.demuxStream(out, tarOut, stderr);
    tarOut.pipe(stdin as NodeJS.WritableStream);
    out.on('end', () => tarOut.end());
    await reader.start();
    const [r, w] = await Promise.all([reader.wait(), writer.wait()]);
    if (r.StatusCode !== 0 || w.StatusCode !== 0) {
      throw new Error(
        `copying the volume failed (tar exit ${r.StatusCode} / ${w.StatusCode}): ${Buffer.concat(errors).toString().slice(0, 500)}`,
      );
    }
    const [a, b] = await Promise.all([count(from, image), count(to, image)]);
    if (a !== b) throw new Error(`the copy has ${b} entries, the original ${a}: not moved`);
    return a;
  } finally {
    await reader.remove({ force: true }).catch(() => undefined);
    await writer.remove({ force: true }).catch(() => undefined);
  }
}

/** How many files and directories a volume holds (the copy's check). */
async function count(end: VolumeEnd, image: string): Promise<number> {
  const c = await end.engine.createContainer({
    Image: image,
    User: '0',
    Entrypoint: ['sh', '-c', 'find /v | wc -l'],
    Cmd: [],
    HostConfig: {
      Mounts: [{ Type: 'volume', Source: end.volume, Target: '/v', ReadOnly: true }],
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: ['DAC_READ_SEARCH'],
    },
  });
  try {
    await c.start();
    await c.wait();
    const logs = (await c.logs({ stdout: true, follow: false })) as Buffer;
    // Multiplexed frames: 8-byte headers before each chunk; the number is the only text.
    const text = logs.length > 8 ? logs.subarray(8).toString() : logs.toString();
    return Number.parseInt(text.trim(), 10);
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
