import { describe, expect, it } from 'vitest';
import { parseNodeEngines } from './nodeEngines.ts';

describe('parseNodeEngines', () => {
  it('reads unix sockets and tcp engines by node name', () => {
    expect([...parseNodeEngines('node1=unix:///run/n1.sock, node2=tcp://10.0.0.2:2375')]).toEqual([
      ['node1', { socketPath: '/run/n1.sock' }],
      ['node2', { host: '10.0.0.2', port: 2375 }],
    ]);
  });
  it.each([
    ['no name', '=unix:///x', /not name=url/],
    ['a name that is no label', 'Node_1=unix:///x', /not name=url/],
    ['a url of another kind', 'n1=http://x:1', /is not unix/],
    ['a node twice', 'n1=unix:///a,n1=unix:///b', /named twice/],
  ])('refuses %s', (_, value, message) => {
    expect(() => parseNodeEngines(value)).toThrow(message);
  });
});
