import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chronicMeters, meterState } from '../../../renderer/logic/chronic';

test('meters turn amber at the warning ratio and red past the cap', () => {
  assert.equal(meterState(79, 100, 0.8), 'ok');
  assert.equal(meterState(80, 100, 0.8), 'near');
  assert.equal(meterState(100, 100, 0.8), 'near');
  assert.equal(meterState(100.01, 100, 0.8), 'over');
  assert.equal(meterState(5000, undefined, 0.8), 'ok');
});

test('a disease shows amount and quantity against its caps', () => {
  const [amount, quantity] = chronicMeters({
    disease: { code: 'M03900', name: '高血压' },
    ruleId: 'CHR-1',
    year: 2026,
    amount: 2480.5,
    quantity: 90,
    capAmount: 3000,
    capQuantity: 80,
    warnRatio: 0.8,
  });
  assert.deepEqual(amount, { label: '金额', used: '¥2,480.50', cap: '¥3,000.00', fill: 2480.5 / 3000, share: '83%', state: 'near' });
  assert.equal(quantity!.state, 'over');
  assert.equal(quantity!.fill, 1);
});

test('no cap: the figure alone', () => {
  const [amount] = chronicMeters({ disease: { code: 'X' }, ruleId: 'C', year: 2026, amount: 10, quantity: 1, warnRatio: 0.8 });
  assert.equal(amount!.cap, undefined);
  assert.equal(amount!.share, undefined);
});
