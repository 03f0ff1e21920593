import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface NginxInstall {
  /** The nginx binary. */
  bin: string;
  /** `load_module` paths: the development kit, then the lua module that needs it. */
  modules: string[];
}

const INSTALL = 'apt-get install -y nginx-light libnginx-mod-http-lua';

/**
 * nginx and its lua module as Debian installs them (the modules under /usr/lib/nginx/modules),
 * or an error that says what to install.
 */
export function findNginx(modulesDir = '/usr/lib/nginx/modules'): NginxInstall {
  let bin = '';
  try {
    bin = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    // Not on a user's PATH without sbin.
    if (existsSync('/usr/sbin/nginx')) bin = '/usr/sbin/nginx';
  }
  if (!bin) throw new Error(`the native edge needs nginx, which is not installed (${INSTALL})`);
  const modules = ['ndk_http_module.so', 'ngx_http_lua_module.so'].map((m) => path.join(modulesDir, m));
  const missing = modules.filter((m) => !existsSync(m));
  if (missing.length)
    throw new Error(`the native edge needs nginx's lua module, missing: ${missing.join(', ')} (${INSTALL})`);
  return { bin, modules };
}
