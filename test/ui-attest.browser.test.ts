/**
 * The attest flow in real Chromium against the real headless agent: a finding that needs
 * attestation shows its conditions, the number key 4 picks 符合限定条件 without asking for a
 * reason, and the HIS receives a `decision` line with action `attest` and the attested texts.
 * With RXGATE_UPDATE_SCREENSHOTS=1 the popup is saved as docs/screenshots/popup-attest.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { CheckInput, Decision } from '../app/core/protocol/messages';
import { openPopupFixture, skipWithoutChromium, type PopupFixture } from './browser-support';
import type { HisClient } from './support';

const root = resolve(__dirname, '..');
const token = 'browser-attest-token-0123456789';
const skip = skipWithoutChromium;
const timeout = { timeout: 120_000 };

const library = {
  version: 31,
  rules: [
    {
      id: 'NRDL-024',
      kind: 'indication',
      level: 'block',
      title: '阿仑膦酸限中重度骨质疏松',
      drugs: ['XM05BAA001'],
      require: { diagnoses: ['M80-M81'], confirm: '中重度骨质疏松' },
      basis: '国家医保药品目录 限定支付范围: 限中重度骨质疏松',
    },
    {
      id: 'NRDL-101',
      kind: 'indication',
      level: 'warn',
      title: '人血白蛋白限低蛋白血症或抢救',
      drugs: ['XB05AAR001'],
      require: { anyOf: [{ labs: [{ codes: ['ALB'], name: '白蛋白', op: '<', value: 30, unit: 'g/L' }] }, { confirm: '抢救' }] },
      basis: '限抢救、重症或因肝硬化、癌症腹水引起的低蛋白血症',
    },
  ],
};

const check: CheckInput = {
  type: 'check',
  id: 'c-attest',
  patient: { id: 'P3001', name: '李四', gender: 'F', birthDate: '1948-04-02', insurance: '310' },
  visit: { id: 'V3001', type: 'outpatient', medType: '11', date: '2026-11-24', dept: { code: '0601', name: '内分泌科' }, doctor: { code: 'D021', name: '周医生' }, hospitalLevel: 3 },
  diagnoses: [{ code: 'M81.000', name: '绝经后骨质疏松', main: true }],
  items: [
    { line: '1', code: 'XM05BAA001A001010100001', name: '阿仑膦酸钠片', category: 'drug', qty: 1, price: 48, days: 28, channel: 'insured' },
    { line: '2', code: 'XB05AAR001A001010100001', name: '人血白蛋白', category: 'drug', qty: 2, price: 380, channel: 'insured' },
  ],
};

describe('attest in the popup in Chromium', { skip, ...timeout }, () => {
  let page: Page;
  let his: HisClient;

  let fixture: PopupFixture | undefined;

  before(async () => {
    fixture = await openPopupFixture({ name: 'attest', token, rules: library, viewport: { width: 1366, height: 768 } });
    ({ page, his } = fixture);
  });

  after(async () => {
    await fixture?.close();
  });

  test('the conditions show; 4 attests the block and the warning, no reason asked; the HIS gets the texts', timeout, async () => {
    his.send(check);
    const verdict = await his.nextOf('verdict', check.id);
    assert.equal(verdict.result, 'block');
    await page.locator(`[data-testid="popup"][data-check-id="${check.id}"]`).waitFor();
    await page.waitForFunction(() => document.activeElement?.closest('[data-line]') != null);

    const first = page.getByTestId('item-1');
    assert.match(await first.innerText(), /需医生确认/);
    assert.match(await first.innerText(), /中重度骨质疏松/);
    assert.match(await page.getByTestId('item-2').innerText(), /白蛋白 < 30 g\/L/);
    assert.equal(await page.getByTestId('confirm').isDisabled(), true);

    await page.keyboard.press('4');
    assert.equal(await page.getByTestId('action-1-attest').getAttribute('aria-checked'), 'true');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('4');
    assert.equal(await page.getByTestId('action-2-attest').getAttribute('aria-checked'), 'true');
    assert.equal(await page.getByTestId('confirm').isDisabled(), false, 'attesting needs no reason');
    if (process.env.RXGATE_UPDATE_SCREENSHOTS) await page.screenshot({ path: join(root, 'docs', 'screenshots', 'popup-attest.png') });
    await page.keyboard.press('Enter');

    const decision = (await his.nextOf('decision', check.id)) as unknown as Decision;
    assert.equal(decision.outcome, 'proceed');
    assert.deepEqual(decision.lines, [
      { line: '1', action: 'attest', attested: ['中重度骨质疏松'] },
      { line: '2', action: 'attest', attested: ['白蛋白 < 30 g/L', '抢救'] },
    ]);
    assert.deepEqual(decision.reasons, []);
  });
});
