/**
 * The agent's store checkpoints its write-ahead log on a worker thread: its own connection never
 * does in a commit, the log still reaches the database file while the store is open, it stays
 * bounded under sustained writes, closing removes it, and past its bound the caller's own
 * thread checkpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Checkpointer, CHECKPOINT_INTERVAL_MS, OWN_CHECKPOINT_BYTES } from './checkpointer';
import { openStore, type SqliteStore } from './store';

function temporaryFile(context: { after: (fn: () => void) => void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'rxgate-checkpoint-test-'));
  context.after(() => rmSync(directory, { recursive: true, force: true }));
  return join(directory, 'rxgate.db');
}

/** About `megabytes` of audit records, in batches as the agent writes them. */
function writeAudit(store: SqliteStore, megabytes: number): void {
  const note = '审'.repeat(2000);
  for (let written = 0; written < megabytes * 1024 * 1024; written += 50 * 6000) {
    store.appendAuditBatch(Array.from({ length: 50 }, (_, index) => ({ type: 'check', checkId: `c-${written}-${index}`, data: { note } })));
  }
}

const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

test('the log reaches the database file from the worker while the store stays open', { timeout: 60_000 }, async (context) => {
  const file = temporaryFile(context);
  const lines: string[] = [];
  const store = openStore(file, { checkpointInWorker: { log: (line) => lines.push(line) } });
  context.after(() => store.close());
  const before = size(file);
  writeAudit(store, 8);
  // Nothing was copied in a commit: the records are all still in the log.
  assert.ok(size(`${file}-wal`) > 8 * 1024 * 1024, `log ${size(`${file}-wal`)} bytes`);
  assert.ok(size(file) - before < 1024 * 1024, 'the agent’s connection did not checkpoint');
  assert.ok(await until(() => size(file) - before > 6 * 1024 * 1024, 5 * CHECKPOINT_INTERVAL_MS), 'the worker copied the log into the file');
  assert.deepEqual(lines, []);
  assert.equal(store.verifyAudit().ok, true);
});

test('under writes that never pause for long the log stays bounded', { timeout: 120_000 }, async (context) => {
  const file = temporaryFile(context);
  const store = openStore(file, { checkpointInWorker: { log: () => undefined } });
  context.after(() => store.close());
  let largest = 0;
  // 60 MB in 2 MB bursts a quarter of a second apart, far more than checks write: a checkpoint
  // under way seldom finds the log quiet, so it is seldom copied whole and started again.
  for (let round = 0; round < 30; round += 1) {
    writeAudit(store, 2);
    largest = Math.max(largest, size(`${file}-wal`));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // The bound, plus what can be written between two looks a second apart.
  assert.ok(largest <= OWN_CHECKPOINT_BYTES + 16 * 1024 * 1024, `the log reached ${largest} bytes`);
  assert.equal(store.verifyAudit().ok, true);
});

test('closing with a worker about removes the log, with every record in the file', { timeout: 60_000 }, async (context) => {
  const file = temporaryFile(context);
  const store = openStore(file, { checkpointInWorker: { log: () => undefined } });
  writeAudit(store, 6);
  // Closed just after the first look asked the worker for a checkpoint.
  await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_INTERVAL_MS + 20));
  store.close();
  assert.equal(existsSync(`${file}-wal`), false);
  const reopened = new Database(file, { readonly: true });
  context.after(() => reopened.close());
  assert.ok((reopened.prepare('SELECT count(*) FROM audit').pluck().get() as number) > 900);
});

test('past its bound the log is checkpointed on the caller’s own thread', { timeout: 60_000 }, (context) => {
  const file = temporaryFile(context);
  const database = new Database(file);
  context.after(() => database.close());
  database.pragma('journal_mode = WAL');
  database.pragma('wal_autocheckpoint = 0');
  writeFiller(database, 3);
  const calls: string[] = [];
  const checkpointer = new Checkpointer(file, () => {
    calls.push('here');
    database.pragma('wal_checkpoint(TRUNCATE)');
  }, () => undefined, 2 * 1024 * 1024);
  context.after(() => checkpointer.close());
  checkpointer.look();
  assert.deepEqual(calls, ['here']);
  assert.equal(size(`${file}-wal`), 0, 'the log was copied and cut back');
  // With the log back below the bound, this thread leaves it alone.
  checkpointer.look();
  assert.deepEqual(calls, ['here']);
});

/** About `megabytes` of rows through a plain connection: the bound is about the log, not the store. */
function writeFiller(database: Database.Database, megabytes: number): void {
  database.exec('CREATE TABLE IF NOT EXISTS filler (text TEXT)');
  const insert = database.prepare('INSERT INTO filler (text) VALUES (?)');
  const text = 'x'.repeat(100_000);
  database.transaction(() => {
    for (let index = 0; index < megabytes * 10; index += 1) insert.run(text);
  })();
}

test('a worker that cannot checkpoint is said once, and this thread takes over', { timeout: 60_000 }, async (context) => {
  const file = temporaryFile(context);
  // A log with no database beside it: the worker's connection cannot open the file.
  writeFileSync(`${file}-wal`, Buffer.alloc(64 * 1024, 1));
  const lines: string[] = [];
  const calls: string[] = [];
  const checkpointer = new Checkpointer(file, () => calls.push('here'), (line) => lines.push(line));
  context.after(() => checkpointer.close());
  checkpointer.look();
  assert.ok(await until(() => lines.length > 0, 10_000), 'the failure was said');
  assert.deepEqual(calls, []);
  for (let round = 0; round < 3; round += 1) {
    appendFileSync(`${file}-wal`, Buffer.alloc(4096, 2));
    checkpointer.look();
  }
  assert.deepEqual(calls, ['here', 'here', 'here']);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /改由主线程执行/);
});
