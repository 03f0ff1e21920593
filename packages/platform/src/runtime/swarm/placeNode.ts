/** What placement needs to know of one Swarm node. */
export interface NodeView {
  /** The node's `dev.matrixos.node` label: the name the platform pins instances and records by. */
  name: string;
  /** Swarm's node status (`ready`, `down`, `disconnected`, `unknown`). */
  status: string;
  /** `active`, `pause` or `drain` (the operator's say). */
  availability: string;
  memoryBytes: number;
}

/**
 * Where a new user's data and instance go: the instance node with the most memory left after
 * the limits of the instances already pinned there (Swarm reports no live usage, and every
 * pinned instance may wake), among those that are up and not drained or paused. Ties go to the
 * first name, so a fresh cluster fills in order. Null: no node can take one.
 */
export function placeNode(nodes: NodeView[], committedBytes: Map<string, number>): string | null {
  let best: { name: string; free: number } | null = null;
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    if (n.status !== 'ready' || n.availability !== 'active') continue;
    const free = n.memoryBytes - (committedBytes.get(n.name) ?? 0);
    if (!best || free > best.free) best = { name: n.name, free };
  }
  return best?.name ?? null;
}

/** Why an instance pinned to `node` cannot run there now, or null when it can. */
export function nodeProblem(node: NodeView | undefined, name: string): string | null {
  if (!node) return `its data is on node ${name}, which is no longer in the swarm`;
  if (node.status !== 'ready') return `its data is on node ${name}, which is ${node.status}`;
  if (node.availability === 'drain') return `its data is on node ${name}, which is drained`;
  return null;
}
