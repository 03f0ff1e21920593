import { execFileSync } from 'node:child_process';
import { dockerAvailable } from '../packages/shared/src/testing/docker.ts';

/** Before any test: when an engine answers, make sure the instance image matches the sources. */
export default async function setup(): Promise<void> {
  if (!(await dockerAvailable())) return;
  execFileSync('bash', ['scripts/build-image.sh', '--if-stale'], { stdio: 'inherit' });
}
