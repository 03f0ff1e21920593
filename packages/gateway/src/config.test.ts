import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@matrixos/shared';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('runs single-user with sensible defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '0.0.0.0',
      home: join(homedir(), 'matrixos'),
      mode: 'single',
      authToken: undefined,
      handle: 'owner',
      maxFileBytes: 10 * 1024 * 1024,
      storageReserveBytes: 'auto',
      logLevel: 'info',
      anthropicBaseUrl: 'https://api.anthropic.com',
      anthropicApiKey: undefined,
      telegramApiRoot: 'https://api.telegram.org',
      publicUrl: undefined,
      matrix: null,
    });
  });

  it('takes the Telegram API root and the public URL without trailing slashes, and refuses other schemes', () => {
    const c = loadConfig({
      TELEGRAM_API_ROOT: 'http://127.0.0.1:9/',
      MATRIXOS_PUBLIC_URL: 'https://a.example.org/',
    });
    expect([c.telegramApiRoot, c.publicUrl]).toEqual(['http://127.0.0.1:9', 'https://a.example.org']);
    expect(() => loadConfig({ MATRIXOS_PUBLIC_URL: 'ftp://a.example.org' })).toThrow(/MATRIXOS_PUBLIC_URL/);
  });

  it('turns the Matrix channel on only with the homeserver, the AI account, its token and the owner', () => {
    const env = {
      MATRIX_HOMESERVER_URL: 'http://172.17.0.1:9002/',
      MATRIX_USER_ID: '@alice_ai:example.org',
      MATRIX_ACCESS_TOKEN: 'syt_token',
      MATRIX_OWNER_ID: '@alice:example.org',
    };
    expect(loadConfig(env).matrix).toEqual({
      homeserverUrl: 'http://172.17.0.1:9002',
      userId: '@alice_ai:example.org',
      accessToken: 'syt_token',
      deviceId: undefined,
      ownerId: '@alice:example.org',
    });
    expect(loadConfig({ ...env, MATRIX_OWNER_ID: undefined }).matrix).toBeNull();
    expect(() => loadConfig({ ...env, MATRIX_USER_ID: 'alice_ai' })).toThrow(/MATRIX_USER_ID/);
  });

  it('refuses platform mode without a token or a handle, naming both', () => {
    expect(() => loadConfig({ MATRIXOS_MODE: 'platform' })).toThrow(ConfigError);
    expect(() => loadConfig({ MATRIXOS_MODE: 'platform' })).toThrow(
      /MATRIX_AUTH_TOKEN: required[\s\S]*MATRIX_HANDLE: required/,
    );
    expect(
      loadConfig({
        MATRIXOS_MODE: 'platform',
        MATRIX_AUTH_TOKEN: 'mxi_0123456789abcdef',
        MATRIX_HANDLE: 'alice',
      }),
    ).toMatchObject({ mode: 'platform', handle: 'alice' });
  });

  it('names every bad variable at once', () => {
    const attempt = () =>
      loadConfig({
        PORT: 'eighty',
        MAX_FILE_BYTES: 'lots',
        MATRIX_AUTH_TOKEN: 'short',
        MATRIX_HANDLE: 'Bob!',
      });
    expect(attempt).toThrow(/PORT[\s\S]*MATRIX_AUTH_TOKEN[\s\S]*MATRIX_HANDLE[\s\S]*MAX_FILE_BYTES/);
  });

  it("holds MATRIX_HANDLE to the platform's handle rule, double hyphens and reserved names included", () => {
    expect(() => loadConfig({ MATRIX_HANDLE: 'ab--cd' })).toThrow(
      /MATRIX_HANDLE: handle may not contain two hyphens/,
    );
    expect(() => loadConfig({ MATRIX_HANDLE: 'admin' })).toThrow(/MATRIX_HANDLE: handle "admin" is reserved/);
    expect(loadConfig({ MATRIX_HANDLE: 'bob-2' }).handle).toBe('bob-2');
  });

  it('reads sizes and resolves the home to an absolute path', () => {
    const config = loadConfig({ MAX_FILE_BYTES: '512k', MATRIXOS_HOME: 'rel/home' });
    expect(config.maxFileBytes).toBe(512 * 1024);
    expect(config.home).toBe(join(process.cwd(), 'rel/home'));
  });
});

describe('the AI settings of the environment', () => {
  it('takes the Messages API base URL without its trailing slash, and the key as given', () => {
    const config = loadConfig({
      ANTHROPIC_BASE_URL: 'http://proxy.internal:8080/',
      ANTHROPIC_API_KEY: 'mxp_instance-proxy-token',
    });
    expect(config.anthropicBaseUrl).toBe('http://proxy.internal:8080');
    expect(config.anthropicApiKey).toBe('mxp_instance-proxy-token');
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => loadConfig({ ANTHROPIC_BASE_URL: 'file:///etc/passwd' })).toThrow(/ANTHROPIC_BASE_URL/);
    expect(() => loadConfig({ ANTHROPIC_BASE_URL: 'not a url' })).toThrow(/ANTHROPIC_BASE_URL/);
  });
});
