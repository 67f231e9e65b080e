/**
 * What a doctor on the keyboard, at 1366×768 and in a 900×600 popup, meets in the popup, in real
 * Chromium against the real headless agent: Enter on a reason, footer hints that match the
 * popup, order-line badges that do not look like action keys, the queue (newest first) and
 * its arrows clear of the 状态 button, the reason picker on screen when a reason is asked
 * for, and the status window on the demo library with no rule server. Screenshots at both sizes go to docs/screenshots/ with RXGATE_UPDATE_SCREENSHOTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { startAgent } from '../app/core/agent';
import type { CheckInput, Decision } from '../app/core/protocol/messages';
import { openPopupFixture, popupShowing, skipWithoutChromium, type PopupFixture } from './browser-support';
import type { HisClient } from './support';

const root = resolve(__dirname, '..');
const examplesDir = join(root, 'examples');
const screenshotsDir = process.env.RXGATE_UPDATE_SCREENSHOTS
  ? join(root, 'docs', 'screenshots')
  : mkdtempSync(join(tmpdir(), 'rxgate-screenshots-'));
const token = 'browser-test-token-0123456789';
const skip = skipWithoutChromium;
const sizes = [
  { width: 1366, height: 768 },
  { width: 900, height: 600 },
] as const;
/** The desktop popup's own size on a 1366×768 screen (app/main/windows.ts `popupBounds`). */
const dockedPopup = { width: 760, height: 712 } as const;

function example(name: string, id: string): CheckInput {
  return { ...(JSON.parse(readFileSync(join(examplesDir, name), 'utf8')) as { message: CheckInput }).message, id };
}


/** Whether the whole of `locator` lies inside the visible part of the popup's scrolling body. */
async function fullyVisibleInBody(page: Page, locator: Locator): Promise<boolean> {
  const box = await locator.boundingBox();
  const body = await page.locator('.popup-body').boundingBox();
  if (!box || !body) return false;
  return box.y >= body.y - 0.5 && box.y + box.height <= body.y + body.height + 0.5;
}

describe('the popup for a doctor on the keyboard, at 1366×768 and 900×600', { skip, timeout: 120_000 }, () => {
  let page: Page;
  let his: HisClient;
  let sequence = 0;
  const nextId = (name: string) => `c-doctor-${name}-${(sequence += 1)}`;

  let fixture: PopupFixture | undefined;

  before(async () => {
    fixture = await openPopupFixture({ name: 'ui-doctor', token, rules: join(examplesDir, 'rules.json'), viewport: sizes[0] });
    ({ page, his } = fixture);
  });

  after(async () => {
    await fixture?.close();
  });

  /** Sends a check and waits for its popup. */
  async function open(check: CheckInput): Promise<void> {
    his.send(check);
    await his.nextOf('verdict', check.id);
    await popupShowing(page, check.id);
  }

  test('Enter on a focused reason selects it and never confirms; the next Enter confirms', { timeout: 20_000 }, async () => {
    await page.setViewportSize(sizes[0]);
    const check = example('check-repeat.json', nextId('enter'));
    await open(check);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'reason-choice-1-0');
    assert.equal(await page.getByTestId('reason-choice-1-0').getAttribute('aria-checked'), 'false');
    // Focus on the first reason, none chosen yet: Enter picks it, and the order is not answered.
    await page.keyboard.press('Enter');
    assert.equal(await page.getByTestId('reason-choice-1-0').getAttribute('aria-checked'), 'true');
    assert.equal(await page.getByTestId('popup').getAttribute('data-check-id'), check.id, 'still open: Enter chose, it did not confirm');
    assert.equal(his.frames.filter((frame) => frame.type === 'decision' && frame.id === check.id).length, 0);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'confirm', 'nothing else waits: on to 确认');
    const chosen = await page.getByTestId('reason-choice-1-0').innerText();

    await page.keyboard.press('Enter');
    const decision = (await his.nextOf('decision', check.id)) as unknown as Decision;
    assert.equal(decision.outcome, 'proceed');
    assert.ok(decision.reasons.length >= 1 && decision.reasons.every((reason) => reason.reason === chosen));
  });

  test('the footer lists only keys that work here and says how reasons are picked', { timeout: 20_000 }, async () => {
    await page.setViewportSize(sizes[0]);
    const block = example('check-indication.json', nextId('hints-block'));
    await open(block);
    const blockHints = await page.getByTestId('key-hints').innerText();
    assert.match(blockHints, /1\s*转自费/);
    assert.match(blockHints, /2\s*删除/);
    assert.doesNotMatch(blockHints, /继续/, 'a block cannot be continued, so 3 is not offered');
    assert.doesNotMatch(blockHints, /理由/);
    await page.keyboard.press('Escape');
    await his.nextOf('decision', block.id);

    const warn = example('check-repeat.json', nextId('hints-warn'));
    await open(warn);
    const warnHints = await page.getByTestId('key-hints').innerText();
    assert.match(warnHints, /3\s*继续/);
    assert.match(warnHints, /Tab\s*到理由, ←→ 或 Enter 选中理由/);
    await page.keyboard.press('Escape');
    await his.nextOf('decision', warn.id);
  });

  test('the chronic popup names order lines in words, not as digits like the action keys', { timeout: 20_000 }, async () => {
    await page.setViewportSize(sizes[0]);
    const check = example('check-chronic.json', nextId('chronic'));
    await open(check);
    const badge = page.getByTestId('item-2').locator('.item-line');
    assert.equal(await badge.innerText(), '第 2 行');
    for (const size of sizes) {
      await page.setViewportSize(size);
      await page.getByTestId('chronic').waitFor();
      await page.screenshot({ path: join(screenshotsDir, `popup-chronic-${size.width}x${size.height}.png`) });
    }
    await page.keyboard.press('Escape');
    await his.nextOf('decision', check.id);
  });

  test('the newest order comes first; the queue arrows and 状态 do not overlap', { timeout: 20_000 }, async () => {
    const older = example('check-indication.json', nextId('queue-older'));
    const newer = example('check-repeat.json', nextId('queue-newer'));
    his.send(older);
    await his.nextOf('verdict', older.id);
    await popupShowing(page, older.id);
    his.send(newer);
    await his.nextOf('verdict', newer.id);
    await page.getByTestId('queue-position').filter({ hasText: '1/2' }).waitFor();
    await popupShowing(page, newer.id);

    for (const size of [...sizes, dockedPopup]) {
      await page.setViewportSize(size);
      const boxes = await Promise.all(
        [page.locator('.queue button').first(), page.locator('.queue button').last(), page.getByTestId('queue-position'), page.locator('.to-status')].map((locator) =>
          locator.boundingBox(),
        ),
      );
      assert.ok(boxes.every(Boolean), 'queue arrows, position and 状态 are all drawn');
      const status = boxes[3]!;
      for (const box of boxes.slice(0, 3)) {
        const apart = box!.x + box!.width <= status.x || status.x + status.width <= box!.x || box!.y + box!.height <= status.y || status.y + status.height <= box!.y;
        assert.ok(apart, `at ${size.width}×${size.height} a queue control overlaps 状态: ${JSON.stringify(box)} vs ${JSON.stringify(status)}`);
      }
      await page.screenshot({ path: join(screenshotsDir, `popup-queue-${size.width}x${size.height}.png`) });
    }

    await page.keyboard.press('PageDown');
    await popupShowing(page, older.id);
    assert.equal(await page.getByTestId('queue-position').innerText(), '2/2');
    await page.keyboard.press('Escape');
    await his.nextOf('decision', older.id);
    await popupShowing(page, newer.id);
    await page.keyboard.press('Escape');
    await his.nextOf('decision', newer.id);
  });

  test('at 900×600 (and in the docked desktop popup) the reason picker is on screen when the footer asks for a reason', { timeout: 20_000 }, async () => {
    for (const size of [...sizes, dockedPopup]) {
      await page.setViewportSize(size);
      const check = example('check-repeat.json', nextId(`fold-${size.width}`));
      await open(check);
      assert.match(await page.getByTestId('summary').innerText(), /还需处理/);
      assert.ok(await fullyVisibleInBody(page, page.getByTestId('reason-1')), `reason picker visible at ${size.width}×${size.height}`);
      assert.ok(await page.getByTestId('confirm').isVisible());
      await page.screenshot({ path: join(screenshotsDir, `popup-warn-${size.width}x${size.height}.png`) });
      await page.keyboard.press('Escape');
      await his.nextOf('decision', check.id);
    }
  });

  test('status on the demo library with no server: no "0 天前", 立即同步 disabled and why', { timeout: 20_000 }, async () => {
    const demoAgent = await startAgent({ dataDir: join(fixture!.dataDir, 'demo-data'), port: 0, token, uiDir: join(fixture!.dataDir, 'ui') });
    const statusPage = await fixture!.browser.newPage({ viewport: sizes[1] });
    try {
      await statusPage.goto(`${demoAgent.uiUrl}&view=status`);
      const published = statusPage.getByTestId('rules-published');
      await published.waitFor();
      assert.equal(await published.innerText(), '随程序内置, 仅供演示');
      assert.equal(await statusPage.getByTestId('sync-now').isDisabled(), true);
      assert.match(await statusPage.getByTestId('sync-unconfigured').innerText(), /未配置规则服务器.*servers/);
      await statusPage.screenshot({ path: join(screenshotsDir, 'status-demo-900x600.png') });
    } finally {
      await statusPage.close();
      await demoAgent.stop();
    }
  });

  test('screenshots of a block popup at both sizes', { timeout: 20_000 }, async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    for (const size of sizes) {
      await page.setViewportSize(size);
      const check = example('check-indication.json', nextId(`block-${size.width}`));
      await open(check);
      await page.screenshot({ path: join(screenshotsDir, `popup-block-${size.width}x${size.height}.png`) });
      await page.keyboard.press('Escape');
      await his.nextOf('decision', check.id);
    }
    assert.ok(existsSync(join(screenshotsDir, 'popup-block-900x600.png')));
  });
});
