import Docker from 'dockerode';

let answer: Promise<boolean> | undefined;

/**
 * Whether a Docker engine answers. Tests that need one use
 * `describe.skipIf(!(await dockerAvailable()))`; under REQUIRE_DOCKER=1 (CI) a missing engine
 * throws instead, so those tests fail rather than skip.
 */
export function dockerAvailable(): Promise<boolean> {
  answer ??= new Docker()
    .ping()
    .then(() => true)
    .catch(() => false)
    .then((ok) => {
      if (!ok && process.env.REQUIRE_DOCKER === '1') {
        throw new Error('REQUIRE_DOCKER=1 but no Docker engine answers on /var/run/docker.sock');
      }
      if (!ok)
        console.warn(
          '[tests] no Docker engine answers: Docker tests are skipped (set REQUIRE_DOCKER=1 to fail)',
        );
      return ok;
    });
  return answer;
}

/** The instance image tests run; the global setup builds it when stale. */
export const TEST_INSTANCE_IMAGE = process.env.INSTANCE_IMAGE ?? 'matrixos/instance:latest';
