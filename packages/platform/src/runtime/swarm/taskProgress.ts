/** The part of a Swarm task that tells how far a start has come. */
export interface TaskView {
  /** new, pending, assigned, accepted, preparing, ready, starting, running, complete, failed, ... */
  state: string;
  desired: string;
  /** The engine's error for a failed or rejected task. */
  error?: string;
  message?: string;
}

const STEP_TEXT: Record<string, string> = {
  new: 'Swarm: task created',
  pending: 'Swarm: waiting for its node',
  assigned: 'Swarm: assigned to its node',
  accepted: 'Swarm: accepted by its node',
  preparing: 'Swarm: preparing (image, volume, network)',
  ready: 'Swarm: ready to start',
  starting: 'Swarm: starting the container',
  running: 'Swarm: running',
};

/** Task states after which this task will never run: the start failed (Swarm may try again). */
const ENDED = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

export type TaskOutcome =
  | { kind: 'running' }
  | { kind: 'progress'; message: string }
  | { kind: 'failed'; message: string };

/** What one task's state means for a start that waits on it. */
export function taskOutcome(task: TaskView): TaskOutcome {
  if (task.state === 'running') return { kind: 'running' };
  if (ENDED.has(task.state)) {
    const why = task.error || task.message || task.state;
    return { kind: 'failed', message: `Swarm task ${task.state}: ${why}` };
  }
  const text = STEP_TEXT[task.state] ?? `Swarm: ${task.state}`;
  // Pending with a message is Swarm saying why it cannot place the task (e.g. no suitable node).
  return { kind: 'progress', message: task.error ? `${text} (${task.error})` : text };
}
