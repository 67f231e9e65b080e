import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LedgerItem } from '../../../rules-cache/store-contract';
import { HistoryEntry } from '../protocol/messages';
import { mergeHistory } from './history';

const AMLODIPINE = 'XC08CAA053A001010100001';
const METFORMIN = 'XA10BAE012A001010100003';

function history(entry: Record<string, unknown>): HistoryEntry {
  return HistoryEntry.parse({ rxId: 'R778', code: AMLODIPINE, date: '2026-11-20', days: 30, qty: 2, ...entry });
}

function ledger(item: Partial<LedgerItem>): LedgerItem {
  return { rxId: 'c-0001#1', code: AMLODIPINE, category: 'drug', date: '2026-11-20', days: 30, qty: 2, channel: 'insured', ...item };
}

test('HIS entries and ledger rows become one list, HIS first, each with its source', () => {
  const merged = mergeHistory(
    [history({ date: '2026-11-01', rxId: 'R1' })],
    [ledger({ date: '2026-11-10', rxId: 'c-9#1', code: METFORMIN })],
  );
  assert.deepEqual(
    merged.map((prior) => [prior.rxId, prior.source, prior.channel]),
    [
      ['R1', 'history', 'insured'],
      ['c-9#1', 'ledger', 'insured'],
    ],
  );
});

test('the same rxId for the same item is one line; the HIS copy wins and is completed from the ledger', () => {
  const merged = mergeHistory(
    [history({ rxId: 'X1', dept: { code: '0402' } })],
    [ledger({ rxId: 'X1', deptCode: '0402', deptName: '心内科', doctorName: '王医生' })],
  );
  assert.equal(merged.length, 1);
  assert.equal(merged[0]!.source, 'history');
  assert.equal(merged[0]!.deptName, '心内科');
  assert.equal(merged[0]!.doctorName, '王医生');
});

test('one rxId on several drugs is not a duplicate', () => {
  const merged = mergeHistory([history({ rxId: 'X1' })], [ledger({ rxId: 'X1', code: METFORMIN })]);
  assert.equal(merged.length, 2);
});

test('different ids, same item, date, days and quantity: the line the HIS sends back', () => {
  assert.equal(mergeHistory([history({})], [ledger({})]).length, 1);
  assert.equal(mergeHistory([history({ days: undefined })], [ledger({})]).length, 1);
  assert.equal(mergeHistory([history({})], [ledger({ days: 28 })]).length, 2);
  assert.equal(mergeHistory([history({})], [ledger({ qty: 3 })]).length, 2);
  assert.equal(mergeHistory([history({})], [ledger({ date: '2026-11-21' })]).length, 2);
  assert.equal(mergeHistory([history({ code: ' xc08caa053a001010100001 ' })], [ledger({ code: AMLODIPINE })]).length, 1);
});

test('hospital codes identify lines without a national code', () => {
  const merged = mergeHistory(
    [history({ code: undefined, hospCode: 'yp0451' })],
    [ledger({ code: undefined, hospCode: 'YP0451' })],
  );
  assert.equal(merged.length, 1);
});

test('each HIS entry absorbs at most one ledger row, and entries of one source are never merged', () => {
  const twoDepartments = [history({ rxId: 'R1' }), history({ rxId: 'R2' })];
  assert.equal(mergeHistory(twoDepartments, []).length, 2);
  assert.equal(mergeHistory(twoDepartments, [ledger({ rxId: 'c-1#1' })]).length, 2);
  assert.equal(mergeHistory([history({ rxId: 'R1' })], [ledger({ rxId: 'c-1#1' }), ledger({ rxId: 'c-2#1' })]).length, 2);
});

test('history without a channel is insured; the ledger keeps its own', () => {
  const merged = mergeHistory([history({ channel: 'selfpay', rxId: 'R1', date: '2026-11-19' })], [ledger({ channel: 'selfpay', code: METFORMIN })]);
  assert.deepEqual(merged.map((prior) => prior.channel), ['selfpay', 'selfpay']);
  assert.equal(mergeHistory([history({})], []).at(0)?.channel, 'insured');
});
