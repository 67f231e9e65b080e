import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openStore } from '../../rules-cache/store';
import type { AuditEvent } from '../../rules-cache/store-contract';
import { CHECK_AUDIT_BATCH, Writer } from './writer';

function writerWithLog(): { writer: Writer; lines: string[]; close(): void } {
  const store = openStore(':memory:');
  const lines: string[] = [];
  const writer = new Writer(store, (line) => lines.push(line));
  return { writer, lines, close: () => store.close() };
}

/** The trail's records of these types, oldest first. */
function trail(writer: Writer): Array<{ type: string; checkId?: string }> {
  return writer.store
    .recentAudit(1000)
    .filter((record) => record.type === 'check' || record.type === 'commit')
    .map((record) => ({ type: record.type, ...(record.checkId ? { checkId: record.checkId } : {}) }))
    .reverse();
}

const checkRecord = (checkId: string): AuditEvent => ({ type: 'check', checkId, patientId: 'P1', data: { result: 'pass' } });

test('a check record is built in the turn after its check, not when its batch is written', async () => {
  const { writer, close } = writerWithLog();
  try {
    const built: string[] = [];
    writer.auditLater(() => {
      built.push('c1');
      return checkRecord('c1');
    });
    assert.deepEqual(built, [], 'built while the check that queued it was still running');
    await nextTurn();
    assert.deepEqual(built, ['c1']);
    // Built and prepared, but the batch is written only when its window ends.
    assert.deepEqual(trail(writer), []);
    writer.flush();
    assert.deepEqual(trail(writer), [{ type: 'check', checkId: 'c1' }]);
  } finally {
    close();
  }
});

test('records keep the order things happened in, whether built yet or not when an urgent write comes', async () => {
  const { writer, close } = writerWithLog();
  try {
    writer.auditLater(() => checkRecord('c1'));
    await nextTurn(); // c1 prepared, not written
    writer.auditLater(() => checkRecord('c2')); // not built yet
    writer.audit({ type: 'commit', checkId: 'c2', patientId: 'P1', data: { recorded: 1 } });
    writer.auditLater(() => checkRecord('c3'));
    writer.drain();
    assert.deepEqual(trail(writer), [
      { type: 'check', checkId: 'c1' },
      { type: 'check', checkId: 'c2' },
      { type: 'commit', checkId: 'c2' },
      { type: 'check', checkId: 'c3' },
    ]);
    assert.equal(writer.store.verifyAudit().ok, true);
  } finally {
    close();
  }
});

test('a record that cannot be built or stored is dropped alone, with a log line; the rest of its batch is written', async () => {
  const { writer, lines, close } = writerWithLog();
  try {
    writer.auditLater(() => checkRecord('c1'));
    writer.auditLater(() => {
      throw new Error('held check unreadable');
    });
    // Not JSON: a BigInt in its data.
    writer.auditLater(() => ({ type: 'check', checkId: 'c3', data: { amount: 1n } }) as unknown as AuditEvent);
    writer.auditLater(() => checkRecord('c4'));
    await nextTurn();
    writer.flush();
    assert.deepEqual(trail(writer), [
      { type: 'check', checkId: 'c1' },
      { type: 'check', checkId: 'c4' },
    ]);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /审计记录未能生成: held check unreadable/);
    assert.match(lines[1]!, /审计记录未能生成: .*JSON/);
  } finally {
    close();
  }
});

test('a full batch is written after the turn that filled it, and everything queued is written by drain', async () => {
  const { writer, close } = writerWithLog();
  try {
    for (let index = 0; index < CHECK_AUDIT_BATCH; index += 1) writer.auditLater(() => checkRecord(`c${index}`));
    assert.equal(trail(writer).length, 0);
    await nextTurn();
    await nextTurn();
    assert.equal(trail(writer).length, CHECK_AUDIT_BATCH);
    writer.auditLater(() => checkRecord('last'));
    writer.drain();
    assert.deepEqual(trail(writer).at(-1), { type: 'check', checkId: 'last' });
    writer.auditLater(() => checkRecord('after'));
    await nextTurn();
    assert.equal(trail(writer).length, CHECK_AUDIT_BATCH + 1, 'a record queued after drain was written');
  } finally {
    close();
  }
});
