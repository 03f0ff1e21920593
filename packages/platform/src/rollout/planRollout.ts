import type { InstanceRow } from '../db/schema.ts';

/**
 * The order in which a rollout moves instances to `image`: the awake ones first (each is gated on
 * its health check, so the image proves itself before anything else moves), then the sleeping
 * ones (only re-pointed: they start on it at their next wake). Instances still being provisioned,
 * on another runtime, or already on the image are left out.
 */
export function planRollout(
  rows: readonly Pick<InstanceRow, 'handle' | 'state' | 'image' | 'runtime'>[],
  image: string,
  runtime: InstanceRow['runtime'],
): string[] {
  const movable = rows.filter(
    (r) => r.runtime === runtime && r.state !== 'provisioning' && r.image !== image,
  );
  const byHandle = (a: { handle: string }, b: { handle: string }) => a.handle.localeCompare(b.handle);
  const awake = movable.filter((r) => r.state !== 'stopped').sort(byHandle);
  const asleep = movable.filter((r) => r.state === 'stopped').sort(byHandle);
  return [...awake, ...asleep].map((r) => r.handle);
}
