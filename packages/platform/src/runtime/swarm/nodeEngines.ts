import { ConfigError } from '@matrixos/shared';

/**
 * `SWARM_NODE_ENGINES`: `name=url,name=url` (`unix:///path` or `tcp://host:port`), the Docker
 * engine of each instance node by its `dev.matrixos.node` label. The manager schedules services,
 * but a volume lives on one node's engine: creating, finding, copying and deleting it needs that
 * engine (Swarm has no cluster volumes for the local driver).
 */
export function parseNodeEngines(
  value: string,
): Map<string, { socketPath?: string; host?: string; port?: number }> {
  const out = new Map<string, { socketPath?: string; host?: string; port?: number }>();
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    if (eq < 1 || !/^[a-z][a-z0-9-]{0,62}$/.test(name))
      throw new ConfigError(
        `SWARM_NODE_ENGINES: "${part}" is not name=url (name: the node's dev.matrixos.node label)`,
      );
    if (out.has(name)) throw new ConfigError(`SWARM_NODE_ENGINES: node ${name} is named twice`);
    if (url.startsWith('unix://') && url.length > 'unix://'.length)
      out.set(name, { socketPath: url.slice(7) });
    else {
      const m = /^tcp:\/\/([^:/]+):(\d{1,5})$/.exec(url);
      if (!m)
        throw new ConfigError(
          `SWARM_NODE_ENGINES: ${name}'s engine "${url}" is not unix:///path or tcp://host:port`,
        );
      out.set(name, { host: m[1]!, port: Number(m[2]) });
    }
  }
  return out;
}
