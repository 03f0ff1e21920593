import { describe, expect, it } from 'vitest';
import { type NginxEdgeConfig, renderNginxEdgeConfig } from './renderNginxEdgeConfig.ts';

const base: NginxEdgeConfig = {
  domain: 'matrix-os.example.com',
  platform: { host: '10.0.0.2', port: 9000 },
  listen: { host: '0.0.0.0', port: 443 },
  admin: { host: '127.0.0.1', port: 9091 },
  workers: 'auto',
  modules: ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'],
};

describe('renderNginxEdgeConfig', () => {
  it('fills in every placeholder of the shipped template', () => {
    const conf = renderNginxEdgeConfig(base);
    expect(conf).not.toMatch(/\$\{EDGE_/);
    expect(conf).toContain('load_module /usr/lib/nginx/modules/ndk_http_module.so;\nload_module');
    expect(conf).toContain('worker_processes auto;');
    expect(conf).toContain('server 10.0.0.2:9000;');
    expect(conf).toContain('require("matrixos_edge").configure("10.0.0.2:9000")');
    expect(conf).toContain('listen 127.0.0.1:9091;');
    expect(conf).toContain('[a-z0-9])\\.matrix-os\\.example\\.com$";');
    expect(conf).toMatch(/"[^"]*\bapp\b[^"]*\bwww\b[^"]*"\)/);
  });

  it.each<[string, Partial<NginxEdgeConfig>, string[], string[]]>([
    ['plain HTTP', {}, ['listen 0.0.0.0:443 default_server;'], ['ssl_certificate']],
    [
      'TLS from files, with h2',
      { tls: { cert: '/etc/edge/fullchain.pem', key: '/etc/edge/key.pem' } },
      [
        'listen 0.0.0.0:443 ssl http2 default_server;',
        'ssl_certificate /etc/edge/fullchain.pem;',
        'ssl_certificate_key /etc/edge/key.pem;',
      ],
      [],
    ],
    [
      'IPv6 everywhere',
      { listen: { host: '::', port: 80 }, platform: { host: '::1', port: 9000 } },
      ['listen [::]:80', 'server [::1]:9000;'],
      [],
    ],
    ['a worker count', { workers: 1 }, ['worker_processes 1;'], []],
    ['an upper-case domain', { domain: 'Example.COM' }, ['\\.example\\.com$"'], []],
  ])('%s', (_, change, present, absent) => {
    const conf = renderNginxEdgeConfig({ ...base, ...change });
    for (const text of present) expect(conf).toContain(text);
    for (const text of absent) expect(conf).not.toContain(text);
  });

  it.each<[string, Partial<NginxEdgeConfig>, RegExp]>([
    ['a platform by name', { platform: { host: 'platform', port: 9000 } }, /IP address/],
    ['a domain with a space', { domain: 'a b.com' }, /not a domain/],
    ['a domain with a leading dot', { domain: '.example.com' }, /not a domain/],
    [
      'a certificate path with a variable',
      { tls: { cert: '/etc/$host.pem', key: '/k.pem' } },
      /absolute path/,
    ],
    ['a relative key path', { tls: { cert: '/c.pem', key: 'k.pem' } }, /absolute path/],
    ['zero workers', { workers: 0 }, /workers/],
    ['port 0', { listen: { host: '0.0.0.0', port: 0 } }, /not a port/],
  ])('refuses %s', (_, change, error) => {
    expect(() => renderNginxEdgeConfig({ ...base, ...change })).toThrow(error);
  });

  it('refuses a template naming a placeholder nothing fills in', () => {
    expect(() => renderNginxEdgeConfig(base, `x $\{EDGE_NOPE};`)).toThrow(/EDGE_NOPE/);
  });
});
