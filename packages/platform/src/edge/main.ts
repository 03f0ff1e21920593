/**
 * The edge container's entry (deploy/compose, image scripts/make-edge-image.sh): the native edge
 * (deploy/edge, nginx + lua) in front of the platform, configured from the environment.
 *
 *   TLS_MODE=wildcard  one certificate for PLATFORM_DOMAIN and *.PLATFORM_DOMAIN from files
 *                      (EDGE_TLS_CERT, EDGE_TLS_KEY), obtained and renewed beside it (lego's
 *                      DNS-01, certbot, by hand); a new pair is picked up within
 *                      EDGE_CERT_CHECK_INTERVAL, without dropping a connection or a route.
 *   TLS_MODE=internal  its own CA and a wildcard certificate, made with openssl into EDGE_DIR/tls
 *                      at the first start and kept (tests, private networks): trust
 *                      EDGE_DIR/tls/ca.crt.
 *
 * SIGHUP reloads (the certificate read again); SIGTERM and SIGINT stop. nginx's own error log is
 * passed on to this process's log, so `docker-compose logs edge` shows it.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, createLogger, duration, type Logger, parseEnv } from '@matrixos/shared';
import { z } from 'zod';
import type { Endpoint } from '../runtime/driver.ts';
import { type NginxEdge, startNginxEdge } from './startNginxEdge.ts';

/** An internal leaf is made again once it has less than this left (it lives 397 days). */
const INTERNAL_RENEW_BEFORE_MS = 30 * 86_400_000;
const INTERNAL_LEAF_DAYS = 397;
const INTERNAL_CA_DAYS = 3650;
/** A wildcard certificate this close to its end is worth a warning a day (renewal is broken). */
const EXPIRY_WARNING_MS = 14 * 86_400_000;
const NGINX_LOG_MAX_BYTES = 1024 * 1024;

const domainName = z
  .string({
    error: (i) => (i.input === undefined ? 'required: the domain instances answer under' : undefined),
  })
  .transform((v) => v.toLowerCase())
  .refine((v) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(v), {
    message: 'expected a domain name such as matrix-os.example.com',
  });

const tcpPort = z.coerce
  .number()
  .int()
  .min(1, 'expected a TCP port (1-65535)')
  .max(65535, 'expected a TCP port (1-65535)');

const absolutePath = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => path.isAbsolute(v), { message: 'expected an absolute path' });

const endpoint = z.string().transform((v, ctx): Endpoint => {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+)):(\d{1,5})$/i.exec(v);
  const port = Number(m?.[3]);
  if (!m || !(port >= 1 && port <= 65535) || (m[1] && !net.isIPv6(m[1]))) {
    ctx.addIssue({ code: 'custom', message: `expected host:port such as 127.0.0.1:9000 (got "${v}")` });
    return z.NEVER;
  }
  return { host: m[1] ?? m[2]!, port };
});

/** Every setting of the edge container; docs/deployment.md ("The native edge") lists them. */
const schema = z.object({
  PLATFORM_DOMAIN: domainName,
  /** The platform's router, where everything but a running instance goes. */
  EDGE_PLATFORM: endpoint.default({ host: '127.0.0.1', port: 9000 }),
  /** Where browsers connect (HTTPS). */
  EDGE_HOST: z
    .string()
    .default('0.0.0.0')
    .refine((v) => net.isIP(v) !== 0 || /^[a-z0-9.-]+$/i.test(v), {
      message: 'expected an address or a host name',
    }),
  EDGE_PORT: tcpPort.default(443),
  /** Plain HTTP on this port answers only with a 301 to https (unset: no plain HTTP). */
  EDGE_HTTP_PORT: tcpPort.optional(),
  /** The route API the platform pushes to (EDGE_ADMIN_URL on the platform's side), on 127.0.0.1. */
  EDGE_ADMIN_PORT: tcpPort.default(9002),
  EDGE_SECRET: z
    .string({
      error: (i) =>
        i.input === undefined
          ? "required: the route API's bearer secret (the platform has the same)"
          : undefined,
    })
    .min(16, 'must be at least 16 characters'),
  TLS_MODE: z.enum(['wildcard', 'internal'], { error: 'expected wildcard or internal' }).default('wildcard'),
  EDGE_TLS_CERT: absolutePath('/etc/matrixos-edge/certs/fullchain.pem'),
  EDGE_TLS_KEY: absolutePath('/etc/matrixos-edge/certs/privkey.pem'),
  /** nginx's prefix (EDGE_DIR/nginx) and the internal CA (EDGE_DIR/tls). */
  EDGE_DIR: absolutePath('/var/lib/matrixos-edge'),
  EDGE_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default('auto'),
  /** How often the certificate files are looked at (a renewal beside the edge); 0: never. */
  EDGE_CERT_CHECK_INTERVAL: duration('5m'),
});

export type EdgeTls = { mode: 'wildcard'; cert: string; key: string } | { mode: 'internal'; dir: string };

export interface EdgeConfig {
  domain: string;
  platform: Endpoint;
  listen: { host: string; port: number };
  httpPort: number | undefined;
  adminPort: number;
  secret: string;
  tls: EdgeTls;
  dir: string;
  workers: number | 'auto';
  certCheckMs: number;
}

export function loadEdgeConfig(env: Record<string, string | undefined> = process.env): EdgeConfig {
  const c = parseEnv(schema, env);
  const ports = [
    ['EDGE_PORT', c.EDGE_PORT],
    ['EDGE_HTTP_PORT', c.EDGE_HTTP_PORT],
    ['EDGE_ADMIN_PORT', c.EDGE_ADMIN_PORT],
  ] as const;
  for (const [i, [name, port]] of ports.entries())
    for (const [other, otherPort] of ports.slice(i + 1))
      if (port !== undefined && port === otherPort)
        throw new ConfigError(`invalid configuration:\n  ${other}: ${port} is ${name} already`);
  return {
    domain: c.PLATFORM_DOMAIN,
    platform: c.EDGE_PLATFORM,
    listen: { host: c.EDGE_HOST, port: c.EDGE_PORT },
    httpPort: c.EDGE_HTTP_PORT,
    adminPort: c.EDGE_ADMIN_PORT,
    secret: c.EDGE_SECRET,
    tls:
      c.TLS_MODE === 'wildcard'
        ? { mode: 'wildcard', cert: c.EDGE_TLS_CERT, key: c.EDGE_TLS_KEY }
        : { mode: 'internal', dir: path.join(c.EDGE_DIR, 'tls') },
    dir: c.EDGE_DIR,
    workers: c.EDGE_WORKERS,
    certCheckMs: c.EDGE_CERT_CHECK_INTERVAL,
  };
}

export interface CertificatePair {
  leaf: X509Certificate;
  /** Of both files' bytes: a renewal changes it. */
  fingerprint: string;
}

/**
 * The pair nginx would load, checked first: a half-written renewal, a key of another certificate
 * or a certificate for other names is refused here rather than by a reload that fails.
 */
export function readCertificatePair(files: { cert: string; key: string }, domain: string): CertificatePair {
  const read = (file: string, name: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  };
  const certPem = read(files.cert, 'EDGE_TLS_CERT');
  const keyPem = read(files.key, 'EDGE_TLS_KEY');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    throw new ConfigError(`EDGE_TLS_CERT: ${files.cert} holds no PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new ConfigError(`EDGE_TLS_KEY: ${files.key} holds no unencrypted PEM private key`);
  }
  if (!matches) throw new ConfigError(`EDGE_TLS_KEY: ${files.key} is not the key of ${files.cert}`);
  for (const name of [domain, `edge-check.${domain}`])
    if (!leaf.checkHost(name))
      throw new ConfigError(
        `EDGE_TLS_CERT: ${files.cert} does not name ${name === domain ? domain : `*.${domain}`} (it names ${leaf.subjectAltName ?? leaf.subject})`,
      );
  const fingerprint = createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex');
  return { leaf, fingerprint };
}

/** Where internal mode keeps its CA (ca.crt, ca.key) and the certificate it serves. */
export function internalFiles(dir: string) {
  return {
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    cert: path.join(dir, 'fullchain.pem'),
    key: path.join(dir, 'privkey.pem'),
  };
}

/**
 * Internal mode: a CA of its own (kept; made again only for another domain, since it may sign
 * for that domain alone) and a wildcard certificate from it, made again when it nears its end.
 * Returns what it made, if anything.
 */
export function ensureInternalCertificate(
  dir: string,
  domain: string,
  now = Date.now(),
): { made: 'nothing' | 'certificate' | 'ca and certificate' } {
  const files = internalFiles(dir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const caSubject = `CN=Matrix OS edge CA for ${domain}`;
  const caValid = (() => {
    if (!existsSync(files.caCert) || !existsSync(files.caKey)) return false;
    const ca = new X509Certificate(readFileSync(files.caCert));
    return ca.subject === caSubject && Date.parse(ca.validTo) - now > INTERNAL_RENEW_BEFORE_MS;
  })();
  const leafValid = (() => {
    if (!caValid || !existsSync(files.cert) || !existsSync(files.key)) return false;
    const leaf = new X509Certificate(readFileSync(files.cert));
    const ca = new X509Certificate(readFileSync(files.caCert));
    return (
      leaf.verify(ca.publicKey) &&
      !!leaf.checkHost(domain) &&
      !!leaf.checkHost(`edge-check.${domain}`) &&
      Date.parse(leaf.validTo) - now > INTERNAL_RENEW_BEFORE_MS
    );
  })();
  if (leafValid) return { made: 'nothing' };

  const work = mkdtempSync(path.join(dir, '.new-'));
  try {
    const cnf = path.join(work, 'openssl.cnf');
    writeFileSync(
      cnf,
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        `CN = ${domain}`,
        '[ca]',
        'basicConstraints = critical, CA:TRUE, pathlen:0',
        'keyUsage = critical, keyCertSign, cRLSign',
        // It signs for this domain and its subdomains only, whoever trusts it.
        `nameConstraints = critical, permitted;DNS:${domain}`,
        'subjectKeyIdentifier = hash',
        '[leaf]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        `subjectAltName = DNS:${domain}, DNS:*.${domain}`,
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    );
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const made = caValid ? 'certificate' : 'ca and certificate';
    const ca = caValid ? files : { caCert: path.join(work, 'ca.crt'), caKey: path.join(work, 'ca.key') };
    if (!caValid)
      openssl([
        'req',
        '-x509',
        ...ec,
        '-keyout',
        ca.caKey,
        '-out',
        ca.caCert,
        '-days',
        String(INTERNAL_CA_DAYS),
        '-subj',
        `/${caSubject}`,
        '-config',
        cnf,
        '-extensions',
        'ca',
        '-sha256',
      ]);
    const csr = path.join(work, 'leaf.csr');
    openssl([
      'req',
      '-new',
      ...ec,
      '-keyout',
      path.join(work, 'privkey.pem'),
      '-out',
      csr,
      '-subj',
      `/CN=${domain}`,
      '-config',
      cnf,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.caCert,
      '-CAkey',
      ca.caKey,
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(INTERNAL_LEAF_DAYS),
      '-sha256',
      '-extfile',
      cnf,
      '-extensions',
      'leaf',
      '-out',
      path.join(work, 'fullchain.pem'),
    ]);
    // Into place one rename each: keys first, so that a pair that does not match is never loaded.
    chmodSync(path.join(work, 'privkey.pem'), 0o600);
    if (!caValid) {
      chmodSync(ca.caKey, 0o600);
      chmodSync(ca.caCert, 0o644);
      renameSync(ca.caKey, files.caKey);
      renameSync(ca.caCert, files.caCert);
    }
    renameSync(path.join(work, 'privkey.pem'), files.key);
    chmodSync(path.join(work, 'fullchain.pem'), 0o644);
    renameSync(path.join(work, 'fullchain.pem'), files.cert);
    return { made };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('TLS_MODE=internal needs openssl, which is not installed');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * Where plain HTTP sends a browser: the same name and path over https, for the domain's own
 * names only (anything else gets a 404, never a redirect to a name of the caller's choosing).
 */
export function redirectTarget(
  host: string | undefined,
  url: string | undefined,
  domain: string,
  httpsPort: number,
): string | null {
  const name = (host ?? '')
    .toLowerCase()
    .replace(/:\d{1,5}$/, '')
    .replace(/\.$/, '');
  if (!/^[a-z0-9.-]+$/.test(name) || (name !== domain && !name.endsWith(`.${domain}`))) return null;
  const target = url?.startsWith('/') ? url : '/';
  return `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${target}`;
}

function listenRedirect(config: EdgeConfig, log: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const to = redirectTarget(req.headers.host, req.url, config.domain, config.listen.port);
    if (to) res.writeHead(301, { location: to, 'content-length': 0 }).end();
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpPort, config.listen.host, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error({ err }, 'edge: the plain-HTTP redirect failed'));
      resolve(server);
    });
  });
}

/**
 * nginx writes its error log to a file in its prefix: its new lines go to this log (nginx's
 * `[error]`, a refused or stale route among them, as a warning; `[crit]` and worse as errors).
 * Past 1 MiB the file is emptied (nginx appends, so it carries on at the start).
 */
function forwardNginxLog(file: string, log: Logger): () => void {
  let offset = existsSync(file) ? statSync(file).size : 0;
  let partial = '';
  const levels: Record<string, 'error' | 'warn' | 'info'> = {
    emerg: 'error',
    alert: 'error',
    crit: 'error',
    error: 'warn',
    warn: 'info',
  };
  const read = () => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size < offset) offset = 0;
    if (size === offset) return;
    const fd = openSync(file, 'r');
    const chunk = Buffer.alloc(Math.min(size - offset, NGINX_LOG_MAX_BYTES));
    try {
      offset += readSync(fd, chunk, 0, chunk.length, offset);
    } finally {
      closeSync(fd);
    }
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const level = levels[/ \[(\w+)\] /.exec(line)?.[1] ?? ''] ?? 'info';
      log[level]({ nginx: line }, 'nginx');
    }
    if (offset >= NGINX_LOG_MAX_BYTES) {
      truncateSync(file, 0);
      offset = 0;
    }
  };
  const timer = setInterval(read, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    read();
  };
}

async function main(): Promise<void> {
  const log = createLogger('edge');
  const config = loadEdgeConfig();
  const prefix = path.join(config.dir, 'nginx');
  mkdirSync(prefix, { recursive: true });
  // nginx's workers (nobody, when started as root) pass through to their temporary files.
  if (process.getuid?.() === 0) chmodSync(config.dir, 0o711);

  const tlsFiles = () => (config.tls.mode === 'wildcard' ? config.tls : internalFiles(config.tls.dir));
  /** The pair to serve now: made or renewed first in internal mode. */
  const currentPair = (): CertificatePair => {
    if (config.tls.mode === 'internal') {
      const { made } = ensureInternalCertificate(config.tls.dir, config.domain);
      if (made !== 'nothing')
        log.info({ made, ca: internalFiles(config.tls.dir).caCert }, 'edge: internal CA made a certificate');
    }
    return readCertificatePair(tlsFiles(), config.domain);
  };
  let lastExpiryWarning = 0;
  const certificateFacts = (pair: CertificatePair) => {
    const left = Date.parse(pair.leaf.validTo) - Date.now();
    const facts = { validTo: pair.leaf.validTo, names: pair.leaf.subjectAltName, issuer: pair.leaf.issuer };
    if (left < EXPIRY_WARNING_MS && Date.now() - lastExpiryWarning > 86_400_000) {
      lastExpiryWarning = Date.now();
      log.warn(
        facts,
        left < 0
          ? 'edge: the certificate has EXPIRED'
          : 'edge: the certificate expires soon; is its renewal running?',
      );
    }
    return facts;
  };

  let served = currentPair();
  const stopLog = forwardNginxLog(path.join(prefix, 'error.log'), log);
  const edge: NginxEdge = await startNginxEdge({
    domain: config.domain,
    platform: config.platform,
    listen: config.listen,
    tls: tlsFiles(),
    adminPort: config.adminPort,
    secret: config.secret,
    dir: prefix,
    workers: config.workers,
    log,
  });
  const redirect = config.httpPort ? await listenRedirect(config, log) : undefined;
  log.info(
    {
      url: edge.url,
      admin: edge.adminUrl,
      platform: `${config.platform.host}:${config.platform.port}`,
      domain: config.domain,
      tls: config.tls.mode,
      ...(config.tls.mode === 'internal' ? { ca: internalFiles(config.tls.dir).caCert } : {}),
      certificate: certificateFacts(served),
      redirect: config.httpPort,
    },
    'edge listening',
  );

  // One reload at a time; each reads the files again and reloads only for a new, sound pair.
  let queue = Promise.resolve();
  const reload = (why: string, always: boolean) => {
    queue = queue.then(async () => {
      let pair: CertificatePair;
      try {
        pair = currentPair();
      } catch (err) {
        log.error({ why, err: (err as Error).message }, 'edge: not reloading, the old certificate stays');
        return;
      }
      if (!always && pair.fingerprint === served.fingerprint) {
        certificateFacts(pair);
        return;
      }
      try {
        await edge.reload();
        served = pair;
        log.info({ why, certificate: certificateFacts(pair) }, 'edge reloaded');
      } catch (err) {
        log.error({ why, err }, 'edge: reload failed, nginx serves as before');
      }
    });
    return queue;
  };
  const checker =
    config.certCheckMs > 0
      ? setInterval(() => void reload('certificate check', false), config.certCheckMs)
      : undefined;

  // nginx is this process's child: when it is gone, so is the edge (the engine restarts it).
  const pid = Number(readFileSync(path.join(prefix, 'nginx.pid'), 'utf8'));
  let stopping = false;
  const watcher = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      if (stopping) return;
      log.fatal({ pid }, 'edge: nginx is gone');
      process.exit(1);
    }
  }, 2000);

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'edge stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    clearInterval(checker);
    clearInterval(watcher);
    redirect?.close();
    redirect?.closeAllConnections();
    edge
      .stop()
      .then(() => {
        stopLog();
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err }, 'edge: stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => void reload('SIGHUP', true));
}

if (import.meta.main) {
  main().catch((err) => {
    if (err instanceof ConfigError) console.error(`edge: ${err.message}`);
    else createLogger('edge').fatal({ err }, 'edge failed to start');
    process.exit(1);
  });
}
