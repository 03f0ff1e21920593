import { hkdfSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSealer } from '@matrixos/shared';
import { writeTextAtomic } from '../files/write.ts';

/**
 * Values the owner gives jobs (API keys, passwords), sealed at rest under a key derived from the
 * instance's token, in one private file. A job sees only the names its manifest entry declares.
 */
export async function createJobSecrets(file: string, token: string, purpose = 'matrixos job secrets') {
  const key = Buffer.from(hkdfSync('sha256', token, new Uint8Array(0), purpose, 32));
  const sealer = createSealer(key);
  let sealed: Record<string, string> = {};
  try {
    sealed = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  } catch {
    sealed = {};
  }
  const clear = new Map<string, string>();
  for (const [name, value] of Object.entries(sealed)) {
    try {
      clear.set(name, sealer.open(value, name));
    } catch {
      // Sealed under another token (the instance was re-provisioned): unusable, so dropped.
    }
  }
  async function save(): Promise<void> {
    const out: Record<string, string> = {};
    for (const [name, value] of clear) out[name] = sealer.seal(value, name);
    await writeTextAtomic(file, `${JSON.stringify(out, null, 2)}\n`, 1024 * 1024, 0o600);
  }
  return {
    names: () => [...clear.keys()].sort(),
    get: (name: string) => clear.get(name),
    pick(names: string[]): Record<string, string> {
      const out: Record<string, string> = {};
      for (const n of names) {
        const v = clear.get(n);
        if (v !== undefined) out[n] = v;
      }
      return out;
    },
    async set(name: string, value: string): Promise<void> {
      clear.set(name, value);
      await save();
    },
    async remove(name: string): Promise<boolean> {
      const had = clear.delete(name);
      if (had) await save();
      return had;
    },
  };
}

export type JobSecrets = Awaited<ReturnType<typeof createJobSecrets>>;
