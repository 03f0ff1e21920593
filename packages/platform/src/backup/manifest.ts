import { z } from 'zod';

/** Bumped when a backup's layout changes; restore refuses formats it does not know. */
export const BACKUP_FORMAT = 1;

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  createdAt: z.string(),
  platformVersion: z.string(),
  platformId: z.string(),
  runtime: z.enum(['docker', 'process', 'swarm']),
  /** How many migrations the platform's database had applied when it was copied. */
  migrations: z.number(),
  users: z.array(
    z.object({ handle: z.string(), volume: z.string().nullable(), state: z.string(), sizeBytes: z.number() }),
  ),
  /** Every data volume of the platform (current instances' and kept ones). */
  volumes: z.array(
    z.object({ key: z.string(), file: z.string(), sizeBytes: z.number(), frozen: z.boolean() }),
  ),
  /** Every file of the backup but the manifest and SHA256SUMS, relative to its directory. */
  files: z.array(z.object({ path: z.string(), sizeBytes: z.number(), sha256: z.string() })),
});

export type Manifest = z.infer<typeof manifestSchema>;
