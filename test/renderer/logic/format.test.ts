import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeItemSupply, describeLine, describePatient, describeVisit, formatAgo, formatDate, formatMoney, maskName } from '../../../renderer/logic/format';

test('names are masked but recognisable', () => {
  assert.equal(maskName('张三'), '张*');
  assert.equal(maskName('张三丰'), '张*丰');
  assert.equal(maskName('欧阳娜娜'), '欧**娜');
  assert.equal(maskName('王'), '王');
  assert.equal(maskName(undefined), '(未提供姓名)');
  assert.equal(maskName('  '), '(未提供姓名)');
});

test('patient and visit read as short Chinese phrases', () => {
  assert.equal(describePatient({ gender: 'F', age: 8 }), '女 · 8岁');
  assert.equal(describePatient({ age: 0 }), '不足1岁');
  assert.equal(describePatient({}), '');
  assert.equal(describeVisit({ type: 'outpatient', medType: '14' }), '门诊 · 门诊慢特病');
  assert.equal(describeVisit({ type: 'inpatient', medType: '99' }), '住院 · 医疗类别 99');
});

test('money and supply', () => {
  assert.equal(formatMoney(1234.5), '¥1,234.50');
  assert.equal(describeItemSupply({ qty: 2, unit: '盒', days: 7, amount: 137 }), '2盒 · 7天 · ¥137.00');
  assert.equal(describeItemSupply({ qty: 0.5 }), '0.5');
});

test('dates and ages of events', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  assert.equal(formatAgo('2026-11-24T11:59:30Z', now), '刚刚');
  assert.equal(formatAgo('2026-11-24T11:00:00Z', now), '1 小时前');
  assert.equal(formatAgo('2026-11-21T12:00:00Z', now), '3 天前');
  assert.equal(formatAgo(undefined, now), '—');
  assert.equal(formatDate('2026-12-31'), '2026-12-31');
});

test('order lines are named in words, never as a bare digit like the action keys', () => {
  assert.equal(describeLine('2'), '第 2 行');
  assert.equal(describeLine('a-7'), '行 a-7');
});
