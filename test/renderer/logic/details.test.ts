import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDetails } from '../../../renderer/logic/details';

test('the earlier prescription of a repeat reads with its department, doctor and days left', () => {
  const details = describeDetails({
    kind: 'repeat',
    details: {
      earlier: [{ date: '2026-11-20', dept: { code: '0402', name: '心内科' }, doctor: { code: 'D019', name: '王医生' }, days: 30, daysLeft: 26 }],
    },
  });
  assert.deepEqual(details.earlier, [{ name: undefined, date: '2026-11-20', dept: '心内科', doctor: '王医生', days: 30, daysLeft: 26, endDate: undefined }]);
  assert.deepEqual(details.facts, []);
});

test('a repeat flattened into the details is read the same way', () => {
  const details = describeDetails({ kind: 'repeat', details: { date: '2026-11-20', deptName: '心内科', doctorName: '王医生', remainingDays: 26 } });
  assert.equal(details.earlier[0]?.dept, '心内科');
  assert.equal(details.earlier[0]?.daysLeft, 26);
});

test('known facts get Chinese labels in reading order, unknown ones are kept, ids are hidden', () => {
  const details = describeDetails({
    kind: 'days',
    details: { maxDays: 7, days: 14, ruleId: 'DAY-1', futureField: '新字段', capAmount: 3000 },
  });
  assert.deepEqual(
    details.facts.map((fact) => [fact.label, fact.value]),
    [
      ['年度金额上限', '¥3,000.00'],
      ['本次天数', '14 天'],
      ['天数上限', '7 天'],
      ['futureField', '新字段'],
    ],
  );
});

test('odd shapes do not throw and nothing is silently dropped', () => {
  assert.deepEqual(describeDetails({ kind: 'indication', details: { earlier: 'x', nested: { a: [1, 2] }, list: [{ name: '肺炎' }, { code: 'J18' }] } }).facts.map((fact) => fact.value), [
    'x',
    '{"a":[1,2]}',
    '肺炎、J18',
  ]);
  assert.deepEqual(describeDetails({ kind: 'indication', details: {} }), { earlier: [], facts: [], confirm: [] });
});

test('a failed requirement the message already states is not repeated; same-order repeats show no earlier table', () => {
  const failed = [{ requirement: 'age', expected: 17, actual: 75, text: '限 17 岁及以下，患者 75 岁' }];
  assert.deepEqual(describeDetails({ kind: 'indication', message: '本次不符合：限 17 岁及以下，患者 75 岁。', details: { failed } }).facts, []);
  assert.equal(describeDetails({ kind: 'indication', message: '', details: { failed } }).facts[0]?.label, '不符合');
  const sameOrder = describeDetails({ kind: 'repeat', details: { sameOrder: true, earlier: { name: '氨氯地平片', date: '2026-11-24' } } });
  assert.deepEqual(sameOrder.earlier, []);
  assert.equal(sameOrder.facts[0]?.value, '同一张处方内');
});
