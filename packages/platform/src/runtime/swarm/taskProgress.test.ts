import { describe, expect, it } from 'vitest';
import { taskOutcome } from './taskProgress.ts';

describe('taskOutcome', () => {
  it.each([
    ['running', { state: 'running', desired: 'running' }, { kind: 'running' }],
    [
      'pending, with Swarm saying why',
      { state: 'pending', desired: 'running', error: 'no suitable node (scheduling constraints)' },
      {
        kind: 'progress',
        message: 'Swarm: waiting for its node (no suitable node (scheduling constraints))',
      },
    ],
    [
      'assigned',
      { state: 'assigned', desired: 'running' },
      { kind: 'progress', message: 'Swarm: assigned to its node' },
    ],
    [
      'preparing',
      { state: 'preparing', desired: 'running' },
      { kind: 'progress', message: 'Swarm: preparing (image, volume, network)' },
    ],
    [
      'starting',
      { state: 'starting', desired: 'running' },
      { kind: 'progress', message: 'Swarm: starting the container' },
    ],
    [
      'rejected with the engine error',
      { state: 'rejected', desired: 'shutdown', error: 'No such image: matrixos/instance:x' },
      { kind: 'failed', message: 'Swarm task rejected: No such image: matrixos/instance:x' },
    ],
    [
      'failed without an error: the state',
      { state: 'failed', desired: 'shutdown' },
      { kind: 'failed', message: 'Swarm task failed: failed' },
    ],
    [
      'an unknown state, named',
      { state: 'later', desired: 'running' },
      { kind: 'progress', message: 'Swarm: later' },
    ],
  ] as const)('%s', (_, task, expected) => {
    expect(taskOutcome(task)).toEqual(expected);
  });
});
