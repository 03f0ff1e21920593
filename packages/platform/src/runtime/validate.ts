import { RuntimeError } from './driver.ts';

/**
 * Drivers put handles into container names, volume names and file paths, and env names into
 * environments. The platform validates handles before they get here; this is the last line, so a
 * bug upstream cannot become `../` in a path or a name that addresses another object.
 */
export function assertSafeSpec(handle: string, env: Record<string, string> = {}): void {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(handle)) {
    throw new RuntimeError('invalid', `refusing instance handle ${JSON.stringify(handle)}: not a DNS label`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RuntimeError('invalid', `refusing environment variable name ${JSON.stringify(name)}`);
    }
    if (value.includes('\0'))
      throw new RuntimeError('invalid', `environment variable ${name} contains a NUL byte`);
  }
}

/** Platform ids become name prefixes of engine objects and label values. */
export function assertPlatformId(platformId: string): void {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(platformId)) {
    throw new RuntimeError('invalid', `platform id ${JSON.stringify(platformId)} must be a short DNS label`);
  }
}

/**
 * Volume keys become volume names and directory names: a handle (volumes made before
 * generations), or `{handle}_{generation}` (an underscore is never part of a handle, so the two
 * never meet).
 */
export function assertSafeVolume(volume: string): void {
  if (!/^[a-z][a-z0-9-]{0,62}(_[a-z0-9]{1,24})?$/.test(volume)) {
    throw new RuntimeError('invalid', `refusing volume key ${JSON.stringify(volume)}`);
  }
}

/** The handle a volume key belongs to. */
export function handleOfVolume(volume: string): string {
  return volume.split('_')[0]!;
}
