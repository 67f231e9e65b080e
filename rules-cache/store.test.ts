/**
 * The SQLite store against real SQLite: `:memory:` where the file does not matter, temp files
 * where it does (restart, crash, bytes on disk, a second raw connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { auditHash, canonicalJson, GENESIS_HASH } from './audit-hash';
import { deriveKeys } from './key-file';
import { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError, migrate } from './migrations';
import { RULE_MODEL_VERSION, RuleLibraryError, type RuleInput, type RuleLibrary } from './model';
import { LibraryTamperedError, REDACTED_PATIENT_ID, openStore, versionToBeat, type SqliteStore } from './store';
import type { LedgerItem, LedgerOrder } from './store-contract';

const repositoryRoot = join(__dirname, '..');

/** A temp folder removed when the test ends. */
function temporaryDirectory(context: { after: (fn: () => void) => void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'rxgate-store-test-'));
  context.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** `count` valid rules of every kind, ids prefixed with `tag` so libraries differ. */
function makeRules(count: number, tag: string): RuleInput[] {
  const rules: RuleInput[] = [];
  for (let index = 0; index < count; index++) {
    const id = `${tag}-${index}`;
    switch (index % 5) {
      case 0:
        rules.push({ id, kind: 'indication', level: 'block', title: '紫龙金片限肺癌', drugs: ['za12aaz017'], require: { diagnoses: ['C34'] } });
        break;
      case 1:
        rules.push({ id, kind: 'chronic', level: 'block', title: '高血压用药范围', disease: { code: 'M03900', name: '高血压', diagnoses: ['I10'] }, allow: ['XC09'] });
        break;
      case 2:
        rules.push({ id, kind: 'repeat', level: 'warn', title: '重复开药', toleranceDays: 3 });
        break;
      case 3:
        rules.push({ id, kind: 'days', level: 'warn', title: '门诊处方不超过7天', maxDays: 7, scope: { visitTypes: ['outpatient'] } });
        break;
      default:
        rules.push({ id, kind: 'herbal', level: 'warn', title: '中药饮片不超过20味', maxItems: 20 });
    }
  }
  return rules;
}

/** Library documents are checked by the store itself, so tests may hand it raw input. */
function library(version: number, rules: RuleInput[], extra: Partial<RuleLibrary> = {}): RuleLibrary {
  return { version, source: 'test', rules: rules as RuleLibrary['rules'], ...extra };
}

function item(rxId: string, date: string, extra: Partial<LedgerItem> = {}): LedgerItem {
  return { rxId, code: 'XC09AAA001A001010100001', name: '缬沙坦胶囊', category: 'drug', date, days: 30, qty: 1, channel: 'insured', ...extra };
}

function order(checkId: string, patientId: string, items: LedgerItem[]): LedgerOrder {
  return { checkId, patientId, visitId: `V-${checkId}`, items };
}

/** A clock that tests move by hand. */
function manualClock(start: string): { now: () => Date; set: (iso: string) => void } {
  let current = new Date(start);
  return { now: () => new Date(current), set: (iso) => (current = new Date(iso)) };
}

/** The verification's outcome without the chain head (a hash that differs every run). */
function verified(store: SqliteStore): { ok: boolean; count: number } {
  const result = store.verifyAudit();
  return { ok: result.ok, count: result.count };
}

function withStore<T>(file: string, run: (store: SqliteStore) => T, options?: Parameters<typeof openStore>[1]): T {
  const store = openStore(file, options);
  try {
    return run(store);
  } finally {
    store.close();
  }
}

test('a new database gets the whole schema, at the newest version, in memory and on disk', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  for (const location of [':memory:', file]) {
    withStore(location, (store) => {
      assert.equal(store.file, location);
      assert.deepEqual(store.libraryInfo(), { active: null, previous: null });
      assert.equal(store.activeLibrary(), null);
      assert.equal(store.ledgerCount(), 0);
      assert.deepEqual(store.verifyAudit(), { ok: true, count: 0 });
    });
  }
  const raw = new Database(file, { readonly: true });
  try {
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    const names = raw.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'trigger') ORDER BY name").pluck().all();
    assert.deepEqual(names, ['audit', 'audit_no_delete', 'audit_no_update', 'audit_purge', 'ledger', 'libraries', 'outbox', 'rules', 'settings', 'sqlite_sequence']);
  } finally {
    raw.close();
  }
});

test('pending migrations run in one transaction: a failing one leaves the database untouched', () => {
  const raw = new Database(':memory:');
  try {
    const broken = [MIGRATIONS[0]!, { version: 2, name: 'broken', sql: 'CREATE TABLE extra (id INTEGER); SELECT * FROM no_such_table;' }];
    assert.throws(() => migrate(raw, broken), /migration 2 \(broken\) failed: no such table/);
    assert.equal(raw.pragma('user_version', { simple: true }), 0);
    assert.deepEqual(raw.prepare('SELECT name FROM sqlite_schema').all(), []);
    assert.deepEqual(migrate(raw), { from: 0, to: SCHEMA_VERSION });
    assert.deepEqual(migrate(raw), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  } finally {
    raw.close();
  }
});

test('a migration list with a gap is refused before any SQL runs', () => {
  const raw = new Database(':memory:');
  try {
    assert.throws(() => migrate(raw, [{ version: 2, name: 'skipped one', sql: 'CREATE TABLE x (id INTEGER)' }]), /out of order/);
    assert.equal(raw.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(), 0);
  } finally {
    raw.close();
  }
});

test('a database from a newer app is refused and left as it was', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  const raw = new Database(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(
    () => openStore(file),
    (error: unknown) =>
      error instanceof SchemaTooNewError && error.found === SCHEMA_VERSION + 1 && /newer than the \d+ this version of RxGate knows/.test(error.message),
  );
  const check = new Database(file, { readonly: true });
  try {
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
    assert.equal(check.pragma('journal_mode', { simple: true }), 'delete');
    assert.equal(check.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(), 0);
  } finally {
    check.close();
  }
});

test('a file that is not a database gives a clear error', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  writeFileSync(file, 'this is not a database, just text that is long enough to have a header'.repeat(20));
  assert.throws(() => openStore(file), /cannot open the rule cache database .*cache\.db: file is not a database/);
});

test('bad options are refused', () => {
  assert.throws(() => openStore(':memory:', { retentionDays: 0 }), /retentionDays/);
  assert.throws(() => openStore(':memory:', { retentionDays: 1.5 }), /retentionDays/);
});

test('settings keep JSON values; undefined removes one', () => {
  withStore(':memory:', (store) => {
    assert.equal(store.getSetting('token'), undefined);
    store.setSetting('token', 'abc');
    store.setSetting('sync', { lastOk: '2026-11-24T09:00:00.000Z', servers: ['https://rules.example'], failures: 0 });
    store.setSetting('enabled', false);
    assert.equal(store.getSetting<string>('token'), 'abc');
    assert.deepEqual(store.getSetting('sync'), { lastOk: '2026-11-24T09:00:00.000Z', servers: ['https://rules.example'], failures: 0 });
    assert.equal(store.getSetting('enabled'), false);
    store.setSetting('token', 'def');
    assert.equal(store.getSetting('token'), 'def');
    store.setSetting('token', undefined);
    assert.equal(store.getSetting('token'), undefined);
    store.deleteSetting('enabled');
    assert.equal(store.getSetting('enabled'), undefined);
    assert.throws(() => store.setSetting('', 1), /setting key must be a non-empty string/);
    assert.throws(() => store.setSetting('bad', () => 1), /cannot be stored as JSON/);
  });
});

test('applying a library makes it active, keeps the one before as previous, drops the one before that', () => {
  const clock = manualClock('2026-11-24T01:00:00.000Z');
  withStore(
    ':memory:',
    (store) => {
      const first = store.applyLibrary(library(1, makeRules(7, 'A'), { source: 'demo' }));
      assert.deepEqual(first, {
        version: 1,
        source: 'demo',
        ruleCount: 7,
        counts: { indication: 2, chronic: 2, repeat: 1, days: 1, herbal: 1 },
        appliedAt: '2026-11-24T01:00:00.000Z',
      });
      assert.deepEqual(store.libraryInfo(), { active: first, previous: null });

      clock.set('2026-11-25T01:00:00.000Z');
      const meta = { manifestId: 'pack-2', keyId: 'k1', sha256: 'ab'.repeat(32) };
      const second = store.applyLibrary(
        library(2, makeRules(3, 'B'), { source: 'pack', publishedAt: '2026-11-24T00:00:00Z', expiresAt: '2027-11-24T00:00:00Z' }),
        meta,
      );
      assert.deepEqual(second.meta, meta);
      assert.equal(second.publishedAt, '2026-11-24T00:00:00Z');
      assert.deepEqual(store.libraryInfo(), { active: second, previous: first });

      const loaded = store.activeLibrary();
      assert.ok(loaded);
      assert.deepEqual(loaded.info, second);
      assert.equal(loaded.library.version, 2);
      assert.equal(loaded.library.source, 'pack');
      assert.equal(loaded.library.expiresAt, '2027-11-24T00:00:00Z');
      assert.deepEqual(
        loaded.library.rules.map((rule) => rule.id),
        ['B-0', 'B-1', 'B-2'],
      );
      // Stored as the schema's output: codes normalised, defaults filled in.
      const indication = loaded.library.rules[0]!;
      assert.equal(indication.kind, 'indication');
      assert.deepEqual(indication.kind === 'indication' && indication.drugs, ['ZA12AAZ017']);
      assert.equal(indication.enabled, true);

      store.applyLibrary(library(3, makeRules(2, 'C')));
      const info = store.libraryInfo();
      assert.equal(info.active?.version, 3);
      assert.equal(info.previous?.version, 2);
    },
    { now: clock.now },
  );
});

test('an invalid library is refused with every problem, and the active one stays', () => {
  withStore(':memory:', (store) => {
    store.applyLibrary(library(1, makeRules(3, 'A')));
    const bad = [...makeRules(2, 'B'), { id: 'B-0', kind: 'days', level: 'warn', title: 'dup', maxDays: 3 }, { id: 'X', kind: 'days', level: 'loud', title: 't', maxDays: 0 }];
    assert.throws(
      () => store.applyLibrary(library(2, bad as RuleInput[])),
      (error: unknown) => error instanceof RuleLibraryError && error.problems.length === 3,
    );
    assert.throws(() => store.applyLibrary(library(-1, [])), /library version must be a whole number/);
    assert.throws(() => store.applyLibrary({ ...library(2, []), source: '' }), /library source must be a non-empty string/);
    assert.equal(store.libraryInfo().active?.version, 1);
    assert.equal(store.libraryInfo().previous, null);
    assert.equal(store.activeLibrary()?.library.rules.length, 3);
  });
});

test('rollback swaps active and previous, and needs a previous', () => {
  withStore(':memory:', (store) => {
    store.applyLibrary(library(1, makeRules(2, 'A')));
    assert.throws(() => store.rollbackLibrary(), /no previous rule library/);
    store.applyLibrary(library(2, makeRules(4, 'B')));
    const restored = store.rollbackLibrary();
    assert.equal(restored.version, 1);
    assert.equal(store.activeLibrary()?.library.rules[0]?.id, 'A-0');
    assert.equal(store.libraryInfo().previous?.version, 2);
    store.rollbackLibrary();
    assert.equal(store.activeLibrary()?.library.version, 2);
  });
});

test('a library changed in the database is refused, even when the change is valid: disabling a rule, deleting one, re-digesting', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  withStore(file, (store) => store.applyLibrary(library(1, makeRules(5, 'A'))));
  const edits = [
    // A block quietly turned into nothing: still a valid rule, so only the digest can tell.
    "UPDATE rules SET body = json_set(body, '$.enabled', json('false')) WHERE rule_id = 'A-0'",
    "DELETE FROM rules WHERE rule_id = 'A-3'",
    "UPDATE rules SET body = json_set(body, '$.level', 'maybe') WHERE rule_id = 'A-1'",
  ];
  for (const edit of edits) {
    const copy = join(temporaryDirectory(context), 'cache.db');
    writeFileSync(copy, readFileSync(file));
    writeFileSync(join(copy, '..', 'rxgate.key'), readFileSync(join(file, '..', 'rxgate.key')));
    const raw = new Database(copy);
    raw.prepare(edit).run();
    raw.close();
    withStore(copy, (store) => assert.throws(() => store.activeLibrary(), LibraryTamperedError, edit));
  }
  // Whoever edits the rows cannot compute a matching digest without the key file: a plain
  // sha256 over the edited bodies, written in the keyed form, is refused too.
  const raw = new Database(file);
  raw.prepare("UPDATE rules SET body = json_set(body, '$.enabled', json('false')) WHERE rule_id = 'A-0'").run();
  const bodies = raw.prepare('SELECT body FROM rules ORDER BY position').pluck().all() as string[];
  const forged = createHash('sha256').update(bodies.map((body) => `${body}\n`).join('')).digest('hex');
  raw.prepare('UPDATE libraries SET rules_digest = ?').run(`hmac:${forged}`);
  raw.close();
  withStore(file, (store) => assert.throws(() => store.activeLibrary(), LibraryTamperedError));
});

test('a library from before the digest is validated rule by rule: an edited row is reported, not used', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  withStore(file, (store) => store.applyLibrary(library(1, makeRules(5, 'A'))));
  const raw = new Database(file);
  raw.prepare('UPDATE libraries SET rules_digest = NULL').run();
  raw.prepare("UPDATE rules SET body = json_set(body, '$.level', 'maybe') WHERE rule_id = 'A-3'").run();
  raw.close();
  withStore(file, (store) => {
    assert.throws(
      () => store.activeLibrary(),
      (error: unknown) =>
        error instanceof RuleLibraryError &&
        error.problems.length === 1 &&
        error.problems[0]!.ruleId === 'A-3' &&
        error.problems[0]!.field === 'level',
    );
  });
});

test('a library whose digest matches is parsed, not validated again; anything else is validated', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  withStore(file, (store) => store.applyLibrary(library(1, makeRules(10, 'D'))));
  const trusted = withStore(file, (store) => store.activeLibrary());
  const raw = new Database(file);
  const digest = raw.prepare("SELECT rules_digest, model_version FROM libraries WHERE slot = 'active'").get() as { rules_digest: string; model_version: number };
  assert.match(digest.rules_digest, /^hmac:[0-9a-f]{64}$/);
  assert.equal(digest.model_version, RULE_MODEL_VERSION);
  // Without the digest (a library written before it existed) the rules are validated: same result.
  raw.prepare('UPDATE libraries SET rules_digest = NULL').run();
  raw.close();
  const validated = withStore(file, (store) => store.activeLibrary());
  assert.equal(trusted?.library.rules.length, 10);
  assert.deepEqual(validated, trusted);
  // An edit under the digest is refused as tampering.
  const edit = new Database(file);
  edit.prepare(`UPDATE libraries SET rules_digest = ?`).run(digest.rules_digest);
  edit.prepare("UPDATE rules SET body = json_set(body, '$.level', 'maybe') WHERE rule_id = 'D-2'").run();
  edit.close();
  withStore(file, (store) => assert.throws(() => store.activeLibrary(), LibraryTamperedError));
});

test('an error inside the apply transaction rolls all of it back; the store carries on', () => {
  withStore(':memory:', (store) => {
    store.applyLibrary(library(1, makeRules(10, 'A')));
    store.applyLibrary(library(2, makeRules(20, 'B')));
    const before = store.libraryInfo();
    // Fail the 15th statement run inside the transaction: by then the old previous library
    // is deleted, the active one moved to previous, and some new rules are inserted.
    const probe = new Database(':memory:');
    const statementPrototype = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run: (...parameters: unknown[]) => unknown };
    probe.close();
    const originalRun = statementPrototype.run;
    let calls = 0;
    statementPrototype.run = function (this: unknown, ...parameters: unknown[]) {
      calls += 1;
      if (calls === 15) throw new Error('simulated failure mid-apply');
      return originalRun.apply(this, parameters);
    };
    try {
      assert.throws(() => store.applyLibrary(library(3, makeRules(30, 'C'))), /simulated failure mid-apply/);
    } finally {
      statementPrototype.run = originalRun;
    }
    assert.ok(calls >= 15);
    assert.deepEqual(store.libraryInfo(), before);
    assert.deepEqual(
      store.activeLibrary()?.library.rules.map((rule) => rule.id),
      makeRules(20, 'B').map((rule) => rule.id),
    );
    store.applyLibrary(library(3, makeRules(30, 'C')));
    assert.equal(store.activeLibrary()?.library.rules.length, 30);
    assert.equal(store.libraryInfo().previous?.version, 2);
  });
});

test('a process killed in the middle of applying leaves the old library intact', (context) => {
  const directory = temporaryDirectory(context);
  const file = join(directory, 'cache.db');
  withStore(file, (store) => {
    store.applyLibrary(library(1, makeRules(50, 'A')));
    store.applyLibrary(library(2, makeRules(60, 'B')));
    store.appendAudit({ type: 'rules.applied', data: { version: 2 } });
  });
  // The child applies a 20,000-rule library and is SIGKILLed after 15,000 statements inside
  // the transaction. Those rows are more than better-sqlite3's 16 MB page cache holds, so
  // uncommitted pages are already in the WAL when it dies, and reopening must ignore them.
  const child = `
    const Database = require('better-sqlite3');
    const { openStore } = require(process.env.RXGATE_STORE_MODULE);
    const store = openStore(process.env.RXGATE_STORE_FILE);
    const rules = [];
    for (let index = 0; index < 20000; index++) {
      rules.push({ id: 'C-' + index, kind: 'days', level: 'warn', title: '天数限制', basis: '处方管理办法 ' + 'x'.repeat(1500), maxDays: 7 });
    }
    const probe = new Database(':memory:');
    const statementPrototype = Object.getPrototypeOf(probe.prepare('SELECT 1'));
    const run = statementPrototype.run;
    let calls = 0;
    statementPrototype.run = function (...parameters) {
      calls += 1;
      if (calls === 15000) {
        require('node:fs').writeSync(1, 'killing inside the transaction\\n');
        process.kill(process.pid, 'SIGKILL');
      }
      return run.apply(this, parameters);
    };
    store.applyLibrary({ version: 3, source: 'test', rules });
    require('node:fs').writeSync(1, 'applied\\n');
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', child], {
    cwd: repositoryRoot,
    env: { ...process.env, RXGATE_STORE_MODULE: join(__dirname, 'store.ts'), RXGATE_STORE_FILE: file },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.signal, 'SIGKILL', `child was not killed: status ${String(result.status)}, stderr ${result.stderr}`);
  assert.equal(result.stdout, 'killing inside the transaction\n');
  assert.ok(statSync(`${file}-wal`).size > 4 * 1024 * 1024, 'uncommitted pages reached the WAL before the kill');

  withStore(file, (store) => {
    const info = store.libraryInfo();
    assert.equal(info.active?.version, 2);
    assert.equal(info.previous?.version, 1);
    const loaded = store.activeLibrary();
    assert.deepEqual(
      loaded?.library.rules.map((rule) => rule.id),
      makeRules(60, 'B').map((rule) => rule.id),
    );
    // Two installs (each with its audit record in its transaction) and one record; nothing of the killed apply.
    assert.deepEqual(verified(store), { ok: true, count: 3 });
    store.applyLibrary(library(3, makeRules(5, 'C')));
    assert.equal(store.libraryInfo().previous?.version, 2);
    while (store.purgeRetiredLibrariesBatch(1000) > 0);
  });
  const raw = new Database(file, { readonly: true });
  try {
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(raw.prepare('SELECT count(*) FROM rules').pluck().get(), 65);
  } finally {
    raw.close();
  }
});

test('everything survives closing and reopening the file', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  const clock = manualClock('2026-11-24T09:00:00.000Z');
  let key = '';
  withStore(
    file,
    (store) => {
      store.applyLibrary(library(1, makeRules(3, 'A')));
      store.applyLibrary(library(2, makeRules(4, 'B')), { keyId: 'k1' });
      store.setSetting('token', 't-123');
      store.recordOrder(order('c-1', 'P1058158', [item('c-1#1', '2026-11-20'), item('c-1#2', '2026-11-24')]));
      store.appendAudit({ type: 'check', checkId: 'c-1', patientId: 'P1058158', data: { result: 'warn' } });
      store.appendAudit({ type: 'decision', checkId: 'c-1', patientId: 'P1058158', data: { outcome: 'proceed' } });
      key = store.patientKey('P1058158');
    },
    { now: clock.now },
  );
  withStore(
    file,
    (store) => {
      assert.equal(store.patientKey('P1058158'), key);
      assert.equal(store.getSetting('token'), 't-123');
      assert.equal(store.activeLibrary()?.library.rules.length, 4);
      assert.deepEqual(store.libraryInfo().active?.meta, { keyId: 'k1' });
      assert.equal(store.libraryInfo().previous?.version, 1);
      assert.deepEqual(
        store.priorItems('P1058158', '2026-11-01').map((row) => row.rxId),
        ['c-1#2', 'c-1#1'],
      );
      assert.deepEqual(verified(store), { ok: true, count: 4 });
      assert.equal(store.appendAudit({ type: 'check', data: {} }).seq, 5);
      assert.deepEqual(verified(store), { ok: true, count: 5 });
    },
    { now: clock.now },
  );
});

test('patient keys: HMAC with a per-install secret, and the raw id never reaches the file', (context) => {
  const directory = temporaryDirectory(context);
  const file = join(directory, 'cache.db');
  const patientId = 'P20261124XYZ';
  let key = '';
  withStore(file, (store) => {
    key = store.patientKey(patientId);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.notEqual(store.patientKey(`${patientId}0`), key);
    store.recordOrder(order('c-7', patientId, [item('c-7#1', '2026-11-24')]));
    store.appendAudit({ type: 'check', checkId: 'c-7', patientId, data: { patientId, patient: { id: patientId, name: '张三' }, lines: ['1'] } });
    store.appendAudit({ type: 'decision', checkId: 'c-7', data: { patientId, outcome: 'proceed' } });
    store.setSetting('lastCheck', { checkId: 'c-7' });
    assert.throws(() => store.patientKey(''), /patient id must be a non-empty string/);
    // While open, the new pages are still in the WAL; look there too.
    for (const name of readdirSync(directory)) {
      assert.equal(readFileSync(join(directory, name)).includes(Buffer.from(patientId, 'utf8')), false, `${name} contains the raw patient id`);
    }
  });
  withStore(file, (store) => assert.equal(store.patientKey(patientId), key));
  withStore(':memory:', (other) => assert.notEqual(other.patientKey(patientId), key, 'another install has another secret'));

  const needle = Buffer.from(patientId, 'utf8');
  const files = readdirSync(directory);
  assert.ok(files.includes('cache.db'));
  for (const name of files) {
    assert.equal(readFileSync(join(directory, name)).includes(needle), false, `${name} contains the raw patient id`);
  }
  assert.equal(readFileSync(file).includes(Buffer.from(key, 'utf8')), true, 'the keyed form is what is stored');
});

test('ledger: one patient, newest first, from a date on', () => {
  withStore(':memory:', (store) => {
    assert.equal(
      store.recordOrder(order('c-1', 'P1', [item('c-1#1', '2026-10-01'), item('c-1#2', '2026-11-20', { days: 7 })])),
      2,
    );
    store.recordOrder(order('c-2', 'P1', [item('c-2#1', '2026-11-24')]));
    store.recordOrder(order('c-3', 'P2', [item('c-3#1', '2026-11-24')]));
    assert.equal(store.ledgerCount(), 4);
    assert.deepEqual(
      store.priorItems('P1', '2026-11-20').map((row) => [row.rxId, row.date]),
      [
        ['c-2#1', '2026-11-24'],
        ['c-1#2', '2026-11-20'],
      ],
    );
    assert.equal(store.priorItems('P1', '2026-01-01').length, 3);
    assert.deepEqual(store.priorItems('P3', '2026-01-01'), []);
    assert.deepEqual(store.priorItems('P1', '2026-11-20')[1], item('c-1#2', '2026-11-20', { days: 7 }));
    assert.throws(() => store.priorItems('P1', '2026-13-01'), /since must be a date written YYYY-MM-DD/);
    assert.throws(() => store.priorItems('P1', '20261101'), /since must be a date written YYYY-MM-DD/);
  });
});

test('ledger: recording an order again replaces it, lines dropped since included; an rxId is one row', () => {
  withStore(':memory:', (store) => {
    store.recordOrder(order('c-1', 'P1', [item('c-1#1', '2026-11-24', { qty: 1 })]));
    store.recordOrder(order('c-1', 'P1', [item('c-1#1', '2026-11-24', { qty: 3 }), item('c-1#2', '2026-11-24')]));
    assert.equal(store.ledgerCount(), 2);
    store.recordOrder(order('c-1', 'P1', [item('c-1#1', '2026-11-24', { qty: 3 })]));
    assert.equal(store.ledgerCount(), 1, 'line 2 was dropped from the order and leaves the ledger');
    assert.deepEqual(
      store.priorItems('P1', '2026-11-24').map((row) => [row.rxId, row.qty]),
      [['c-1#1', 3]],
    );
    // Another order of the same patient is untouched by re-recording this one.
    store.recordOrder(order('c-2', 'P1', [item('c-2#1', '2026-11-24')]));
    store.recordOrder(order('c-1', 'P1', [item('c-1#1', '2026-11-24', { qty: 5 })]));
    assert.deepEqual(
      store.priorItems('P1', '2026-11-24').map((row) => [row.rxId, row.qty]).sort(),
      [
        ['c-1#1', 5],
        ['c-2#1', 1],
      ],
    );
  });
});

test('ledger: a bad item refuses the whole order, and stray fields are not stored', () => {
  withStore(':memory:', (store) => {
    assert.throws(
      () => store.recordOrder(order('c-1', 'P1', [item('c-1#1', '2026-11-24'), item('c-1#2', '2026-02-30')])),
      /order item 2 date must be a date written YYYY-MM-DD/,
    );
    assert.throws(
      () => store.recordOrder(order('c-1', 'P1', [{ ...item('c-1#1', '2026-11-24'), channel: 'cash' as 'insured' }])),
      /channel must be insured or selfpay/,
    );
    assert.throws(() => store.recordOrder(order('c-1', '', [item('c-1#1', '2026-11-24')])), /patient id must be a non-empty string/);
    assert.equal(store.ledgerCount(), 0);
    const withExtra = { ...item('c-1#1', '2026-11-24'), patientName: '张三' } as LedgerItem;
    store.recordOrder(order('c-1', 'P1', [withExtra]));
    assert.deepEqual(store.priorItems('P1', '2026-11-24'), [item('c-1#1', '2026-11-24')]);
  });
});

test('retention: purgeLedger by date, and rows past the retention period go when the store opens', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  const clock = manualClock('2026-11-24T09:00:00');
  withStore(
    file,
    (store) => {
      store.recordOrder(
        order('c-1', 'P1', [item('a', '2026-01-10'), item('b', '2026-05-27'), item('c', '2026-05-28'), item('d', '2026-11-24')]),
      );
      assert.equal(store.purgeLedger('2026-01-11'), 1);
      assert.equal(store.purgeLedger('2026-01-11'), 0);
      assert.throws(() => store.purgeLedger('yesterday'), /before must be a date written YYYY-MM-DD/);
      assert.equal(store.ledgerCount(), 3);
    },
    { now: clock.now },
  );
  // 180 days before 2026-11-24 is 2026-05-28: that day stays, the day before goes.
  withStore(file, (store) => {
    assert.deepEqual(store.priorItems('P1', '2000-01-01').map((row) => row.rxId), ['d', 'c']);
  }, { now: clock.now });
  clock.set('2026-11-30T09:00:00');
  withStore(file, (store) => {
    assert.deepEqual(store.priorItems('P1', '2000-01-01').map((row) => row.rxId), ['d']);
    store.recordOrder(order('c-2', 'P1', [item('e', '2026-11-01')]));
    clock.set('2026-12-25T09:00:00');
    assert.equal(store.purgeExpiredLedger(), 2);
    assert.equal(store.ledgerCount(), 0);
  }, { now: clock.now, retentionDays: 30 });
});

test('retention: a large purge can go in batches, oldest first, and the store can open without purging', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  const clock = manualClock('2026-11-24T09:00:00+08:00');
  withStore(file, (store) => {
    store.recordOrder(order('old', 'P1', [item('o#1', '2026-01-01'), item('o#2', '2026-02-01'), item('o#3', '2026-03-01')]));
    store.recordOrder(order('new', 'P1', [item('n#1', '2026-11-01')]));
  }, { now: clock.now, purgeOnOpen: false });
  withStore(file, (store) => {
    assert.equal(store.ledgerCount(), 4, 'nothing purged at open when asked not to');
    assert.equal(store.purgeExpiredLedgerBatch(2), 2);
    assert.deepEqual(store.priorItems('P1', '2025-01-01').map((row) => row.rxId), ['n#1', 'o#3']);
    assert.equal(store.purgeExpiredLedgerBatch(2), 1);
    assert.equal(store.purgeExpiredLedgerBatch(2), 0);
    assert.throws(() => store.purgeExpiredLedgerBatch(0), /at least 1/);
  }, { now: clock.now, purgeOnOpen: false });
});

test('audit: a keyed hash chain from 64 zeros, patient ids keyed and stripped from data', () => {
  const clock = manualClock('2026-11-24T01:12:03.000Z');
  const keys = deriveKeys(Buffer.alloc(32, 7), 1);
  withStore(
    ':memory:',
    (store) => {
      const first = store.appendAudit({
        type: 'check',
        checkId: 'c-1',
        patientId: 'P1058158',
        data: { result: 'block', patientId: 'P1058158', patient: { id: 'P1058158', gender: 'M' }, findings: [{ ruleId: 'IND-0001' }] },
      });
      assert.equal(first.seq, 1);
      assert.equal(first.prevHash, GENESIS_HASH);
      assert.equal(first.at, '2026-11-24T01:12:03.000Z');
      assert.equal(first.patientKey, store.patientKey('P1058158'));
      assert.deepEqual(first.data, { result: 'block', patient: { id: REDACTED_PATIENT_ID, gender: 'M' }, findings: [{ ruleId: 'IND-0001' }] });
      assert.equal(
        first.hash,
        auditHash(GENESIS_HASH, { seq: 1, at: first.at, type: 'check', checkId: 'c-1', patientKey: first.patientKey!, data: first.data }, keys.audit),
      );
      // Without the key the same content does not give the stored hash.
      assert.notEqual(
        first.hash,
        auditHash(GENESIS_HASH, { seq: 1, at: first.at, type: 'check', checkId: 'c-1', patientKey: first.patientKey!, data: first.data }),
      );

      clock.set('2026-11-24T01:12:09.000Z');
      // No patientId on the event: the one in data is keyed, and still not kept.
      const second = store.appendAudit({ type: 'decision', checkId: 'c-1', data: { patientId: 'P1058158', outcome: 'proceed' } });
      assert.equal(second.prevHash, first.hash);
      assert.equal(second.patientKey, first.patientKey);
      assert.deepEqual(second.data, { outcome: 'proceed' });

      const third = store.appendAudit({ type: 'rules.applied', data: { version: 2, at: new Date('2026-11-24T00:00:00Z') } });
      assert.equal(third.checkId, undefined);
      assert.equal(third.patientKey, undefined);
      assert.deepEqual(third.data, { version: 2, at: '2026-11-24T00:00:00.000Z' });

      assert.deepEqual(store.verifyAudit(), { ok: true, count: 3, head: { seq: 3, hash: third.hash } });
      assert.deepEqual(store.recentAudit(10), [third, second, first]);
      assert.deepEqual(store.recentAudit(1), [third]);
      assert.deepEqual(store.recentAudit(10, 'decision'), [second]);
      assert.deepEqual(store.recentAudit(10, 'none'), []);
      assert.throws(() => store.appendAudit({ type: '', data: {} }), /audit event type must be a non-empty string/);
      assert.throws(() => store.appendAudit({ type: 'x', data: [] as unknown as Record<string, unknown> }), /must be a JSON object/);
      assert.throws(() => store.recentAudit(-1), /audit limit/);
    },
    { now: clock.now, keys },
  );
});

test('audit: a batch appends in order in one transaction, and a bad event appends none', () => {
  withStore(':memory:', (store) => {
    const first = store.appendAudit({ type: 'rules', data: { version: 1 } });
    const batch = store.appendAuditBatch([
      { type: 'check', checkId: 'c-1', patientId: 'P1', data: { result: 'pass' } },
      { type: 'check', checkId: 'c-2', patientId: 'P2', data: { result: 'warn', patientId: 'P2' } },
    ]);
    assert.deepEqual(batch.map((record) => record.seq), [2, 3]);
    assert.equal(batch[0]!.prevHash, first.hash);
    assert.equal(batch[1]!.prevHash, batch[0]!.hash);
    assert.deepEqual(store.recentAudit(1)[0]!.data, { result: 'warn' });
    assert.throws(() => store.appendAuditBatch([{ type: 'check', data: {} }, { type: '', data: {} }]), /audit event type/);
    assert.deepEqual(verified(store), { ok: true, count: 3 });
    assert.deepEqual(store.appendAuditBatch([]), []);
  });
});

test('audit: two stores on one file (agent and CLI) append to one unbroken chain', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  const agent = openStore(file);
  const commandLine = openStore(file);
  try {
    for (let index = 0; index < 10; index++) {
      (index % 3 === 0 ? commandLine : agent).appendAudit({ type: 'check', data: { index } });
    }
    assert.deepEqual(verified(agent), { ok: true, count: 10 });
    assert.deepEqual(
      commandLine.recentAudit(3).map((record) => record.seq),
      [10, 9, 8],
    );
    assert.equal(agent.patientKey('P1'), commandLine.patientKey('P1'));
  } finally {
    agent.close();
    commandLine.close();
  }
});

test('audit: triggers refuse UPDATE and DELETE, even through another connection', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  withStore(file, (store) => {
    store.appendAudit({ type: 'check', data: { result: 'pass' } });
    const raw = new Database(file);
    try {
      assert.throws(() => raw.prepare("UPDATE audit SET data = '{}' WHERE seq = 1").run(), /audit trail is append-only: records cannot be updated/);
      assert.throws(() => raw.prepare('DELETE FROM audit').run(), /audit trail is append-only: only records past retention can be purged/);
    } finally {
      raw.close();
    }
    assert.deepEqual(verified(store), { ok: true, count: 1 });
  });
});

test('audit: an edited record and a removed record are found by verify', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  withStore(file, (store) => {
    for (let index = 1; index <= 5; index++) store.appendAudit({ type: 'check', checkId: `c-${index}`, data: { result: 'pass', index } });
  });
  const raw = new Database(file);
  raw.exec('DROP TRIGGER audit_no_update');
  raw.prepare(`UPDATE audit SET data = '{"index":3,"result":"block"}' WHERE seq = 3`).run();
  raw.close();
  withStore(file, (store) => {
    assert.deepEqual(store.verifyAudit(), { ok: false, count: 2, brokenAt: 3, reason: '第 3 条审计记录的内容与其哈希不符: 被改动过' });
  });

  const restore = new Database(file);
  // Put the original content back (key order does not matter to the canonical hash) and
  // remove a record instead.
  restore.prepare(`UPDATE audit SET data = '{"result":"pass","index":3}' WHERE seq = 3`).run();
  restore.exec('DROP TRIGGER audit_no_delete');
  restore.prepare('DELETE FROM audit WHERE seq = 4').run();
  restore.close();
  withStore(file, (store) => {
    assert.deepEqual(store.verifyAudit(), { ok: false, count: 3, brokenAt: 4, reason: '第 4 条审计记录不见了 (下一条是第 5 条)' });
  });
});

test('canonical JSON sorts keys at every depth and refuses what JSON cannot hold', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }], e: undefined }), '{"a":[{"c":"x","d":null}],"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.equal(canonicalJson('医保\n"'), JSON.stringify('医保\n"'));
  assert.throws(() => canonicalJson({ a: Number.NaN }), /not a JSON number/);
  assert.throws(() => canonicalJson({ a: 1n }), /bigint is not a JSON value/);
});

test('close can be called twice; the store is unusable after it', (context) => {
  const file = join(temporaryDirectory(context), 'cache.db');
  const store = openStore(file);
  store.close();
  store.close();
  assert.throws(() => store.getSetting('token'), /not open/);
  assert.equal(existsSync(`${file}-wal`), false, 'the WAL is checkpointed and removed on close');
});

test('versionToBeat: the demo library is the floor, anything else its own version', () => {
  const info = (source: string, version: number) => ({ version, source, ruleCount: 0, counts: {}, appliedAt: '2026-11-24T00:00:00Z' });
  assert.equal(versionToBeat(null), 0);
  assert.equal(versionToBeat(info('demo', 5)), 0);
  assert.equal(versionToBeat(info('pack', 5)), 5);
  assert.equal(versionToBeat(info('import', 3)), 3);
});
