import { defineConfig } from 'vitest/config';

/**
 * The swarm runtime's tests on a real 3-node swarm: only scripts/ci/swarm.sh runs these (it
 * starts the cluster and runs vitest inside the platform's seat on the overlay network).
 */
export default defineConfig({
  test: {
    include: ['packages/platform/test/swarm/*.swarm.ts'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    testTimeout: 240_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
