/**
 * What the store promises about its own integrity, each tried the way someone with the files
 * would try to break it: a lone surrogate in a check id, a record edited and the chain
 * re-hashed without the key, the tail cut off behind the anchor, a forged anchor, records
 * removed from the front without a purge, the key file deleted or swapped, the files' modes,
 * and the upgrade of a database that still held its secret inside.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { auditHash, GENESIS_HASH } from './audit-hash';
import { rehashWithoutKey } from './audit-attack';
import { KeyFileError } from './key-file';
import { MIGRATIONS, migrate } from './migrations';
import { openStore, type SqliteStore } from './store';

function temporaryDirectory(context: { after: (fn: () => void) => void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'rxgate-integrity-test-'));
  context.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function withStore<T>(file: string, run: (store: SqliteStore) => T, options?: Parameters<typeof openStore>[1]): T {
  const store = openStore(file, options);
  try {
    return run(store);
  } finally {
    store.close();
  }
}

function fill(file: string, count: number): void {
  withStore(file, (store) => {
    for (let index = 1; index <= count; index++) {
      store.appendAudit({ type: index % 2 ? 'check' : 'decision', checkId: `c-${index}`, patientId: 'P1', data: { result: index % 3 ? 'pass' : 'block', index } });
    }
    store.writeAuditAnchor();
  });
}

describe('audit trail integrity', { timeout: 60_000 }, () => {
  test('a check id that is a lone surrogate is stored and hashed alike: the chain stays verifiable', (context) => {
    const file = join(temporaryDirectory(context), 'rxgate.db');
    withStore(file, (store) => {
      store.appendAudit({ type: 'check', checkId: '\ud800', data: { note: '\udfff' } });
      store.appendAudit({ type: 'check', checkId: 'after', data: {} });
      assert.equal(store.verifyAudit().ok, true);
    });
    withStore(file, (store) => assert.equal(store.verifyAudit().ok, true, 'still after reopening'));
  });

  test('an edited record re-hashed without the key is found', (context) => {
    const file = join(temporaryDirectory(context), 'rxgate.db');
    fill(file, 20);
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_update');
    raw.prepare(`UPDATE audit SET data = json_set(data, '$.result', 'pass') WHERE seq = 9`).run();
    rehashWithoutKey(raw, 9);
    raw.close();
    withStore(file, (store) => {
      const result = store.verifyAudit();
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.brokenAt, 9);
    });
  });

  test('a tail cut off behind the anchor is found, and so is a forged anchor', (context) => {
    const directory = temporaryDirectory(context);
    const file = join(directory, 'rxgate.db');
    fill(file, 30);
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_delete');
    raw.prepare('DELETE FROM audit WHERE seq > 20').run();
    raw.close();
    withStore(file, (store) => {
      const result = store.verifyAudit();
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.reason : '', /截断/);
      const start = store.startAuditVerification(true);
      assert.ok('ok' in start && !start.ok, 'the fast start-up check finds it too');
    });
    // Moving the anchor back to match the cut: without the key its MAC cannot be made.
    const anchorPath = join(directory, 'audit-head.json');
    const anchor = JSON.parse(readFileSync(anchorPath, 'utf8')) as { seq: number; hash: string; mac: string };
    const twenty = withStore(file, (store) => store.auditHead());
    writeFileSync(anchorPath, JSON.stringify({ ...anchor, seq: twenty!.seq, hash: twenty!.hash }));
    withStore(file, (store) => {
      const result = store.verifyAudit();
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.reason : '', /锚点文件/);
    });
  });

  test('records removed from the front are found unless a retention purge removed them', (context) => {
    const directory = temporaryDirectory(context);
    const file = join(directory, 'rxgate.db');
    let clock = new Date('2026-01-01T08:00:00Z');
    const now = () => clock;
    withStore(
      file,
      (store) => {
        for (let index = 0; index < 10; index++) store.appendAudit({ type: 'check', data: { index } });
        clock = new Date('2026-11-30T08:00:00Z');
        for (let index = 10; index < 15; index++) store.appendAudit({ type: 'check', data: { index } });
        // Retention 180 days: the ten January records go, in batches, and the rest verifies.
        let purged = 0;
        for (let step = store.purgeExpiredAuditBatch(4); step > 0; step = store.purgeExpiredAuditBatch(4)) purged += step;
        assert.equal(purged, 10);
        const result = store.verifyAudit();
        assert.equal(result.ok, true);
        assert.equal(result.count, 5 + 3, 'five kept and one audit.purged record per batch');
        store.writeAuditAnchor();
      },
      { now },
    );
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_delete');
    raw.prepare('DELETE FROM audit WHERE seq = (SELECT min(seq) FROM audit)').run();
    raw.close();
    withStore(file, (store) => {
      const result = store.verifyAudit();
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.reason : '', /不是按保留期清理的/);
    }, { now });
  });
});

describe('the install key outside the database', { timeout: 60_000 }, () => {
  test('data folder 0700, database, WAL and key file 0600; the key is not in the database', (context) => {
    if (process.platform === 'win32') return;
    const directory = join(temporaryDirectory(context), 'data');
    const file = join(directory, 'rxgate.db');
    withStore(file, (store) => {
      store.recordOrder({ checkId: 'c-1', patientId: 'P1', visitId: 'V1', items: [{ rxId: 'r1', category: 'drug', date: '2026-11-30', channel: 'insured' }] });
      for (const path of [file, `${file}-wal`, `${file}-shm`, join(directory, 'rxgate.key')]) {
        assert.equal(statSync(path).mode & 0o777, 0o600, path);
      }
      assert.equal(statSync(directory).mode & 0o777, 0o700);
    });
    const raw = new Database(file, { readonly: true });
    try {
      const tables = raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
      assert.equal(tables.includes('install_secret'), false);
      const key = JSON.parse(readFileSync(join(directory, 'rxgate.key'), 'utf8')) as { secret: string };
      const bytes = readFileSync(file);
      assert.equal(bytes.includes(Buffer.from(key.secret, 'base64')), false);
    } finally {
      raw.close();
    }
  });

  test('a deleted or swapped key file is refused, never silently replaced', (context) => {
    const directory = temporaryDirectory(context);
    const file = join(directory, 'rxgate.db');
    withStore(file, (store) => store.appendAudit({ type: 'check', data: {} }));
    const keyFile = join(directory, 'rxgate.key');
    const original = readFileSync(keyFile);
    unlinkSync(keyFile);
    assert.throws(() => openStore(file), (error: unknown) => error instanceof KeyFileError && /不见了/.test(error.message));
    // Another install's key file in its place.
    const other = join(temporaryDirectory(context), 'rxgate.db');
    withStore(other, () => undefined);
    writeFileSync(keyFile, readFileSync(join(other, '..', 'rxgate.key')));
    assert.throws(() => openStore(file), (error: unknown) => error instanceof KeyFileError && /不属于这个数据库/.test(error.message));
    writeFileSync(keyFile, original);
    withStore(file, (store) => assert.equal(store.verifyAudit().ok, true));
  });

  test('a database from before schema 3 gives up its secret to the key file; old records keep verifying, new ones are keyed', (context) => {
    const directory = temporaryDirectory(context);
    const file = join(directory, 'rxgate.db');
    const secret = Buffer.alloc(32, 9);
    const raw = new Database(file);
    migrate(raw, MIGRATIONS.slice(0, 2));
    raw.prepare('INSERT INTO install_secret (id, secret, created_at) VALUES (1, ?, ?)').run(secret, '2026-01-01T00:00:00Z');
    // Two records as the old store wrote them: plain SHA-256.
    let prev = GENESIS_HASH;
    for (const seq of [1, 2]) {
      const content = { seq, at: `2026-01-0${seq}T00:00:00.000Z`, type: 'check', checkId: null, patientKey: null, data: { seq } };
      const hash = auditHash(prev, content);
      raw.prepare('INSERT INTO audit (seq, at, type, check_id, patient_key, data, prev_hash, hash) VALUES (?, ?, ?, NULL, NULL, ?, ?, ?)').run(seq, content.at, 'check', JSON.stringify(content.data), prev, hash);
      prev = hash;
    }
    raw.close();
    withStore(file, (store) => {
      // The same patient key as before the move: existing ledger rows stay findable.
      const expected = createHmac('sha256', secret).update('P1', 'utf8').digest('hex');
      assert.equal(store.patientKey('P1'), expected);
      store.appendAudit({ type: 'check', data: { seq: 3 } });
      assert.equal(store.verifyAudit().ok, true);
    });
    const key = JSON.parse(readFileSync(join(directory, 'rxgate.key'), 'utf8')) as { auditKeyedFrom: number };
    assert.equal(key.auditKeyedFrom, 3);
    // The keyed record cannot be passed off as an old, plain one.
    const edit = new Database(file);
    edit.exec('DROP TRIGGER audit_no_update');
    edit.prepare(`UPDATE audit SET data = '{"seq":33}' WHERE seq = 3`).run();
    rehashWithoutKey(edit, 3);
    edit.close();
    withStore(file, (store) => assert.equal(store.verifyAudit().ok, false));
  });
});
