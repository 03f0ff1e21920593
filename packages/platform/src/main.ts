import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, createLogger, loadSecretKey, newToken, readOrCreateSecret } from '@matrixos/shared';
import { instanceUrl, loadConfig } from './config.ts';
import { openDb } from './db/openDb.ts';
import { createProxyClient } from './llm/proxyClient.ts';
import { createPlatformMetrics } from './metrics/platformMetrics.ts';
import { createPlatform } from './platform.ts';
import { createRuntime } from './runtime/index.ts';

const log = createLogger('platform');

async function main(): Promise<void> {
  const config = loadConfig();
  mkdirSync(config.dataDir, { recursive: true });
  const admin = config.adminToken
    ? { value: config.adminToken, created: false }
    : readOrCreateSecret(path.join(config.dataDir, 'admin-token'), () => newToken('mxa'));
  const { key } = loadSecretKey(
    config.secretKey,
    path.join(config.dataDir, 'platform.key'),
    'PLATFORM_SECRET_KEY',
  );
  const db = openDb(path.join(config.dataDir, 'platform.db'));
  const metrics = createPlatformMetrics();
  const runtime = await createRuntime({
    ...config,
    log: log.child({ module: 'runtime' }),
    onWatchReconnect: metrics.engineReconnected,
  });
  await runtime.init();
  const platform = createPlatform({
    config,
    db,
    runtime,
    secretKey: key,
    adminToken: admin.value,
    metrics,
    llm: config.proxyAdminUrl
      ? createProxyClient({ baseUrl: config.proxyAdminUrl, adminToken: admin.value })
      : undefined,
    log,
  });
  const { port, reconciled } = await platform.listen();
  log.info({ port, host: config.host, runtime: runtime.kind, domain: config.domain }, 'platform listening');

  const lines = [
    '',
    'Matrix OS platform is up.',
    `  Open:        ${config.publicUrl.origin}`,
    `  Instances:   ${instanceUrl(config, '{handle}')}`,
    `  Runtime:     ${runtime.kind}${runtime.kind === 'docker' ? ` (image ${config.instance.image})` : ' (no isolation: for trying it out only)'}`,
    `  Data:        ${config.dataDir}`,
    admin.created
      ? `  Admin token: ${admin.value}\n               (generated now and shown once; it is kept in ${path.join(config.dataDir, 'admin-token')})`
      : `  Admin token: ${config.adminToken ? 'from PLATFORM_ADMIN_TOKEN' : `in ${path.join(config.dataDir, 'admin-token')}`}`,
    `  Try:         curl -X POST ${config.publicUrl.origin}/containers/provision -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"handle":"alice"}'`,
    '',
  ];
  console.log(lines.join('\n'));
  reconciled.then((r) => log.info({ ...r }, 'startup reconcile done')).catch(() => undefined);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down (instances keep running)');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    platform
      .close()
      .then(async () => {
        // Containers outlive the platform (the next start adopts them), but local processes are
        // a try-it-out mode: Ctrl-C should not leave them behind. They wake again on demand.
        if (runtime.kind === 'process') {
          for (const i of platform.orchestrator.list()) {
            if (i.state !== 'stopped')
              await platform.orchestrator
                .stop(i.handle)
                .catch((err) => log.error({ err, handle: i.handle }, 'stop failed'));
          }
        }
        db.$client.close();
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else log.fatal({ err }, 'platform failed to start');
  process.exit(1);
});
