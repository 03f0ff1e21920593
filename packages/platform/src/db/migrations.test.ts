import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSealer } from '@matrixos/shared';
import { openSqlite } from '@matrixos/shared/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccountStore } from '../accounts/accountStore.ts';
import { createInstanceStore } from '../instances/store.ts';
import { openDb } from './openDb.ts';

const DRIZZLE = fileURLToPath(new URL('../../drizzle', import.meta.url));
const journal = JSON.parse(readFileSync(path.join(DRIZZLE, 'meta', '_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};

/**
 * Upgrades, as an operator would: a database made by the first release's schema (migrations
 * 0000 and 0001 only: instances and accounts), with real rows in it (sealed tokens, a passkey, an
 * app code, a session), opened by this version, which applies every later migration at start.
 * Nothing may be lost, and this version's stores must read the old rows.
 */
describe('migrations from the first release', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const key = Buffer.alloc(32, 7);
  const sealer = createSealer(key);

  it('keeps every instance, account, factor and session across all current migrations', () => {
    const old = path.join(dir, 'old-drizzle');
    mkdirSync(path.join(old, 'meta'), { recursive: true });
    const first = journal.entries.slice(0, 2);
    expect(first.map((e) => e.tag)).toEqual(['0000_init', '0001_accounts']);
    for (const e of first) copyFileSync(path.join(DRIZZLE, `${e.tag}.sql`), path.join(old, `${e.tag}.sql`));
    writeFileSync(path.join(old, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: first }));

    const file = path.join(dir, 'platform.db');
    const v1 = openSqlite(file, { schema: {}, migrationsFolder: old });
    const sql = v1.$client;
    const t = 1_790_000_000_000;
    sql
      .prepare(
        `INSERT INTO instances (handle, state, runtime, engine_id, image, auth_token_sealed, proxy_token_sealed, created_at, updated_at, last_active_at, last_error)
         VALUES (?, ?, 'docker', ?, 'matrixos/instance:latest', ?, ?, ?, ?, ?, NULL)`,
      )
      .run(
        'alice',
        'running',
        'c0ffee',
        sealer.seal('mxi_alice', 'auth:alice'),
        sealer.seal('mxp_alice', 'proxy:alice'),
        t,
        t,
        t,
      );
    sql
      .prepare(
        `INSERT INTO users (id, handle, role, created_at) VALUES ('u1', 'alice', 'admin', ?), ('u2', 'bob', 'user', ?)`,
      )
      .run(t, t);
    sql
      .prepare(
        `INSERT INTO passkeys (id, user_id, public_key, counter, transports, device_type, backed_up, name, created_at, last_used_at)
         VALUES ('cred-1', 'u1', ?, 3, '["internal"]', 'singleDevice', 0, 'Laptop', ?, NULL)`,
      )
      .run(Buffer.from([1, 2, 3, 4]), t);
    sql
      .prepare(
        `INSERT INTO totp_factors (user_id, secret_sealed, last_counter, created_at) VALUES ('u2', ?, 42, ?)`,
      )
      .run(sealer.seal('JBSWY3DPEHPK3PXP', 'totp:u2'), t);
    sql
      .prepare(
        `INSERT INTO session_families (id, user_id, created_at, expires_at, revoked_at, revoked_reason, user_agent) VALUES ('f1', 'u2', ?, ?, NULL, NULL, 'curl')`,
      )
      .run(t, t + 86_400_000);
    sql
      .prepare(
        `INSERT INTO refresh_tokens (token_hash, family_id, expires_at, used_at) VALUES ('h1', 'f1', ?, NULL)`,
      )
      .run(t + 86_400_000);
    const before = (sql.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
    expect(before).toBe(2);
    sql.close();

    const db = openDb(file);
    const applied = (
      db.$client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }
    ).n;
    expect(applied).toBe(journal.entries.length);
    const instances = createInstanceStore(db);
    expect(instances.get('alice')).toMatchObject({
      handle: 'alice',
      state: 'running',
      engineId: 'c0ffee',
      volume: null,
    });
    expect(sealer.open(instances.get('alice')!.authTokenSealed, 'auth:alice')).toBe('mxi_alice');
    const accounts = createAccountStore({ db, sealer });
    expect(accounts.userByHandle('alice')).toMatchObject({ id: 'u1', role: 'admin' });
    expect(accounts.passkeysOf('u1')).toMatchObject([{ id: 'cred-1', counter: 3, name: 'Laptop' }]);
    expect(accounts.totpOf('u2')).toEqual({ secret: 'JBSWY3DPEHPK3PXP', lastCounter: 42 });
    expect(db.$client.prepare('SELECT id, verified_at FROM session_families').all()).toEqual([
      { id: 'f1', verified_at: null },
    ]);
    expect(db.$client.prepare('SELECT token_hash, successor_sealed FROM refresh_tokens').all()).toEqual([
      { token_hash: 'h1', successor_sealed: null },
    ]);
    // Issue 8: instances made before the feed existed appear in it as having signed up then.
    expect(db.$client.prepare('SELECT kind, handle, at FROM social_events').all()).toEqual([
      { kind: 'signup', handle: 'alice', at: t },
    ]);
    expect(db.$client.pragma('foreign_key_check')).toEqual([]);
    expect(db.$client.pragma('integrity_check', { simple: true })).toBe('ok');
    db.$client.close();
    // Opening again applies nothing twice.
    const again = openDb(file);
    expect(
      (again.$client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n,
    ).toBe(applied);
    again.$client.close();
  });
});

/**
 * Every earlier schema is some release's: a database made by any prefix of the migrations (the
 * previous release's included, whatever it was) upgrades to this one, keeps its instance row, and
 * the instance reads with this version's columns (the image on trial is unset: nothing is).
 */
describe('migrations from every earlier schema', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-migrate-prefix-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(journal.entries.slice(1).map((_, i) => i + 1))(
    'upgrades a database made by the first %i migrations',
    (count) => {
      const old = path.join(dir, `drizzle-${count}`);
      mkdirSync(path.join(old, 'meta'), { recursive: true });
      const entries = journal.entries.slice(0, count);
      for (const e of entries)
        copyFileSync(path.join(DRIZZLE, `${e.tag}.sql`), path.join(old, `${e.tag}.sql`));
      writeFileSync(path.join(old, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
      const file = path.join(dir, `platform-${count}.db`);
      const before = openSqlite(file, { schema: {}, migrationsFolder: old });
      before.$client
        .prepare(
          `INSERT INTO instances (handle, state, runtime, engine_id, image, auth_token_sealed, proxy_token_sealed, created_at, updated_at, last_active_at, last_error)
           VALUES ('alice', 'stopped', 'docker', NULL, 'matrixos/instance:old', 's1', 's2', 1, 2, 3, NULL)`,
        )
        .run();
      before.$client.close();

      const db = openDb(file);
      const applied = db.$client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as {
        n: number;
      };
      expect(applied.n).toBe(journal.entries.length);
      expect(createInstanceStore(db).get('alice')).toMatchObject({
        image: 'matrixos/instance:old',
        state: 'stopped',
        lastActiveAt: 3,
        previousImage: null,
      });
      expect(db.$client.pragma('foreign_key_check')).toEqual([]);
      db.$client.close();
    },
  );
});
