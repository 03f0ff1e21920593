import { execFileSync } from 'node:child_process';

/**
 * Whether a program the tests drive (caddy, chromium, ...) is installed. Tests that need one use
 * `describe.skipIf(!toolAvailable('caddy'))`; under REQUIRE_TOOLS=1 (CI) a missing program throws
 * instead, so those tests fail rather than skip.
 */
export function toolAvailable(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${command} is not installed`);
    console.warn(`[tests] ${command} is not installed: its tests are skipped (set REQUIRE_TOOLS=1 to fail)`);
    return false;
  }
}
