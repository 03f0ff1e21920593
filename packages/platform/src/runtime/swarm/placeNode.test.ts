import { describe, expect, it } from 'vitest';
import { type NodeView, nodeProblem, placeNode } from './placeNode.ts';

const GB = 1024 ** 3;
const node = (name: string, o: Partial<NodeView> = {}): NodeView => ({
  name,
  status: 'ready',
  availability: 'active',
  memoryBytes: 8 * GB,
  ...o,
});

describe('placeNode', () => {
  it.each([
    ['the node with most memory left', [node('a'), node('b', { memoryBytes: 16 * GB })], [], 'b'],
    ['after what is pinned there', [node('a'), node('b')], [['a', GB]], 'b'],
    ['ties: the first name (a fresh cluster fills in order)', [node('b'), node('a')], [], 'a'],
    ['never a drained node', [node('a', { availability: 'drain' }), node('b')], [['b', 4 * GB]], 'b'],
    ['never a paused node', [node('a', { availability: 'pause' }), node('b')], [['b', 4 * GB]], 'b'],
    ['never a node that is down', [node('a', { status: 'down' }), node('b')], [['b', 4 * GB]], 'b'],
    ['none when no node can take one', [node('a', { status: 'down' })], [], null],
    ['none in an empty swarm', [], [], null],
  ] as const)('%s', (_, nodes, committed, expected) => {
    expect(placeNode([...nodes], new Map(committed.map(([k, v]) => [k, v])))).toBe(expected);
  });
});

describe('nodeProblem', () => {
  it.each([
    ['a ready, active node', node('n2'), null],
    ['a node that is down', node('n2', { status: 'down' }), 'its data is on node n2, which is down'],
    ['a drained node', node('n2', { availability: 'drain' }), 'its data is on node n2, which is drained'],
    ['a node gone from the swarm', undefined, 'its data is on node n2, which is no longer in the swarm'],
  ] as const)('%s', (_, n, expected) => {
    expect(nodeProblem(n, 'n2')).toBe(expected);
  });
});
