import path from 'node:path';
import { createLogger, createSealer, loadSecretKey } from '@matrixos/shared';
import { createProxyApp, createProxyServer } from './app.ts';
import { loadConfig } from './config.ts';
import { checkpointInBackground } from './db/checkpointer.ts';
import { openDb } from './db/openDb.ts';

const log = createLogger('proxy');
const config = loadConfig();
const db = openDb(config.dbFile);
const checkpointer = checkpointInBackground(db, config.dbFile, log);
const secret = loadSecretKey(
  config.secretKey,
  path.join(config.dataDir, 'proxy-secret.key'),
  'PROXY_SECRET_KEY',
);
if (secret.created)
  log.warn("created a key for sealing users' own API keys in DATA_DIR; back it up with the database");
if (!config.upstream.apiKey)
  log.warn('ANTHROPIC_API_KEY is not set: only users with their own key can call the API');
if (!config.adminToken)
  log.warn('PLATFORM_ADMIN_TOKEN is not set: the admin API (keys, quotas, summary) refuses every call');

const proxy = createProxyApp({ db, config, log, sealer: createSealer(secret.key) });
const server = createProxyServer(proxy, config);
server.listen(config.port, config.host, () => {
  log.info({ port: config.port, host: config.host, upstream: config.upstream.url }, 'LLM proxy listening');
});

function shutdown(signal: string): void {
  log.info({ signal }, 'shutting down');
  server.close(async () => {
    await checkpointer.stop();
    db.$client.close();
    process.exit(0);
  });
  // Kept-alive connections of instances would hold the close until the timeout below.
  server.closeIdleConnections();
  // Streams can run for minutes: do not wait for them forever.
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
