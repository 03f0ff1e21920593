import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeTextAtomic } from '../../files/write.ts';
import { homePaths } from '../../home/layout.ts';

/** What the Matrix channel remembers across sleeps, in the home's private folder. */
export interface MatrixState {
  /** The newest message handled (origin_server_ts): older ones seen again after a wake are skipped. */
  handledUpTo: number;
  /** The owner's DM rooms and the shell conversation each continues. */
  conversations: Record<string, string>;
  /** Rooms this AI opened to another user's AI, by that user's handle. */
  peerRooms: Record<string, string>;
}

export function createMatrixState(home: string) {
  const file = join(homePaths(home).privateDir, 'matrix.json');
  let writing: Promise<unknown> = Promise.resolve();
  return {
    async read(): Promise<MatrixState> {
      try {
        const s = JSON.parse(await readFile(file, 'utf8')) as Partial<MatrixState>;
        return {
          handledUpTo: s.handledUpTo ?? 0,
          conversations: s.conversations ?? {},
          peerRooms: s.peerRooms ?? {},
        };
      } catch {
        return { handledUpTo: 0, conversations: {}, peerRooms: {} };
      }
    },
    /** Writes are serialised, each atomic: a crash leaves the old state or the new one. */
    write(state: MatrixState): Promise<void> {
      const next = writing.then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await writeTextAtomic(file, JSON.stringify(state), 1024 * 1024, 0o600);
      });
      writing = next.catch(() => undefined);
      return next;
    },
  };
}
