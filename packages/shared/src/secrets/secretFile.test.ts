import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSecretKey, parseSecretKey, readOrCreateSecret } from './secretFile.ts';

describe('secret files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes 32 bytes as hex or base64 and refuses anything else', () => {
    expect(parseSecretKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseSecretKey(Buffer.alloc(32, 7).toString('base64'))).toEqual(Buffer.alloc(32, 7));
    expect(() => parseSecretKey('too-short')).toThrow(/32 bytes/);
  });

  it('creates a key file once (mode 0600) and reads it back', () => {
    const file = path.join(dir, 'sub', 'proxy-secret.key');
    const first = loadSecretKey(undefined, file);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = loadSecretKey(undefined, file);
    expect(again).toEqual({ key: first.key, created: false });
    expect(loadSecretKey('cd'.repeat(32), file).key).toEqual(Buffer.from('cd'.repeat(32), 'hex'));
  });

  it('keeps the first of two racing creators, and says only the creator created it', () => {
    const file = path.join(dir, 'admin-token');
    const a = readOrCreateSecret(file, () => 'first');
    const b = readOrCreateSecret(file, () => 'second');
    expect(a).toEqual({ value: 'first', created: true });
    expect(b).toEqual({ value: 'first', created: false });
  });

  it('refuses a damaged key file rather than making a new key', () => {
    const file = path.join(dir, 'proxy-secret.key');
    writeFileSync(file, 'garbage\n');
    expect(() => loadSecretKey(undefined, file)).toThrow(/32 bytes/);
  });
});
