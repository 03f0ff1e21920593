import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger } from '@matrixos/shared';
import { createApp } from './app.ts';
import { resolveToken } from './auth/token.ts';
import { loadConfig } from './config.ts';
import { seedHome } from './home/seed.ts';
import { listen } from './server.ts';
import { VERSION } from './version.ts';

// Beside src/ in the repo, beside bin/ in the image's bundle: the same relative place.
const TEMPLATE_DIR = fileURLToPath(new URL('../template/', import.meta.url));
const SHELL_DIR = fileURLToPath(new URL('../shell/', import.meta.url));
// Under the 5 s an orchestrator (or systemd) waits, with room to exit.
const SHUTDOWN_GRACE_MS = 4_000;
const SHUTDOWN_DEADLINE_MS = 4_800;

function fail(message: string): never {
  process.stderr.write(`matrixos gateway: ${message}\n`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
const log = createLogger('gateway', config.logLevel);

try {
  await mkdir(config.home, { recursive: true });
  const { copied } = await seedHome(config.home, TEMPLATE_DIR);
  if (copied.length)
    log.info({ home: config.home, files: copied.length }, 'filled the home from the template');
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    fail(`cannot write to MATRIXOS_HOME (${config.home}) as uid ${process.getuid?.()}: ${code}`);
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') fail(`MATRIXOS_HOME (${config.home}) is not a directory`);
  throw err;
}

const { token, source } = await resolveToken(config);
if (source === 'generated') {
  // Printed once, on the boot that made it; afterwards it lives in the home (mode 0600).
  process.stdout.write(
    `\n  Matrix OS access token (shown once; stored in ${config.home}/.matrixos/auth-token):\n\n    ${token}\n\n`,
  );
}

const gateway = await createApp({ config, log, token, shellDir: SHELL_DIR });
const running = await listen(gateway, config).catch((err: NodeJS.ErrnoException) =>
  fail(`cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`),
);
log.info(
  { url: running.url, handle: config.handle, mode: config.mode, home: config.home, version: VERSION },
  'gateway listening',
);
// After listening (the platform may be waiting for /health), and not awaited: a SIGTERM during
// the first load must find the handlers below in place.
void gateway.jobs.start().catch((err) => log.error({ err }, 'jobs did not start'));

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Whatever happens below, the process is gone in time.
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
    // Beside the drain: the platform learns the next due time before the process exits.
    const jobsClosed = gateway.jobs.close().catch((err) => log.error({ err }, 'jobs did not close cleanly'));
    void running
      .shutdown(SHUTDOWN_GRACE_MS)
      .then(async (how) => {
        // closeSockets (in the shutdown) stopped the activity reports; one may be on its way.
        await Promise.all([jobsClosed, gateway.activityReporter?.flush()]);
        return how;
      })
      .then((how) => {
        log.info({ how }, 'stopped');
        process.exit(how === 'drained' ? 0 : 1);
      });
  });
}
