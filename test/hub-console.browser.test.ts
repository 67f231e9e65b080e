/**
 * The hub console in real Chromium against a real hub on a throwaway PostgreSQL: two agents
 * deliver through the hub client, the insurance office logs in, finds the override with its
 * reason, marks it reviewed with a note and exports the list; IT logs in and sees both PCs
 * with their versions and the one whose audit trail went back flagged. Screenshots go to
 * docs/screenshots/ with RXGATE_UPDATE_SCREENSHOTS=1, otherwise to a temp folder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { HubClient } from '../app/core/hub-client';
import { buildConsole } from '../hub/console/build';
import { hashPassword, patientKeyer } from '../hub/security';
import { issueEnrolmentCode, startHubServer, type RunningHub } from '../hub/server';
import { HubStore } from '../hub/store/hub-store';
import { decisionEvent, headEvent, orderEvent, statusEvent } from './hub-support';
import { skipWithoutPostgres, startCluster, type TestCluster } from './postgres';

const root = resolve(__dirname, '..');
const chromiumPath = process.env.RXGATE_CHROMIUM ?? '/usr/bin/chromium';
const skip = skipWithoutPostgres() || (process.env.CI ? false : !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : false);
const today = new Date().toISOString().slice(0, 10);

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('hub console in Chromium', { skip, timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let store: HubStore;
  let hub: RunningHub;
  let browser: Browser;
  let page: Page;
  const work = mkdtempSync(join(tmpdir(), 'rxgate-hub-browser-'));
  const screenshots = process.env.RXGATE_UPDATE_SCREENSHOTS ? join(root, 'docs', 'screenshots') : process.env.RXGATE_SHOTS_DIR ?? work;

  before(async () => {
    cluster = await startCluster();
    store = await HubStore.open(await cluster.createDatabase('browser'));
    const consoleDir = await buildConsole({ outDir: join(work, 'console') });
    hub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 9)), consoleDir });
    await store.addUser('yibaoban', await hashPassword('review-password-1'), 'reviewer');
    await store.addUser('xinxike', await hashPassword('admin-password-1'), 'admin');

    const agents: HubClient[] = [];
    for (const pcName of ['PC-心内-01', 'PC-呼吸-07']) {
      const { code } = await issueEnrolmentCode(store, 'test');
      const enrolment = new HubClient({ url: hub.url });
      agents.push(new HubClient({ url: hub.url, credential: (await enrolment.enrol({ code, pcName, agentVersion: '0.1.0' })).credential }));
      enrolment.close();
    }
    const [a, b] = agents as [HubClient, HubClient];
    await a.deliver([
      orderEvent(1, { checkId: 'c-1', patientId: 'P-1001', date: today, code: 'XC08CAA001', name: '氨氯地平片', dept: ['0301', '心内科'], doctor: ['D017', '王医生'], days: 30 }),
      statusEvent(2, 'PC-心内-01', '0.1.0', 12, ['R-REPEAT-1', 'R-QUIET-9']),
      headEvent(3, { seq: 10, hash: sha('10') }),
    ]);
    // B's check of the same patient finds A's order at the hub, and the doctor continues with a reason.
    const history = await b.lookupHistory('P-1001', '2000-01-01', { budgetMs: 5_000 });
    assert.equal(history?.[0]?.deptName, '心内科');
    await b.deliver([
      decisionEvent(1, { checkId: 'c-2', patientId: 'P-1001', ruleId: 'R-REPEAT-1', reason: '患者下周出国, 需多带一个月', dept: ['0402', '呼吸科'], doctor: ['D200', '李医生'] }),
      statusEvent(2, 'PC-呼吸-07', '0.2.0', 14),
    ]);
    // A's local audit trail lost records: its next head goes back.
    const truncated = await a.deliver([headEvent(4, { seq: 6, hash: sha('6') })]);
    assert.equal(truncated.anchor.state, 'truncated');
    for (const agent of agents) agent.close();

    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401/.test(message.text())) assert.fail(`console error: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
    await store?.close();
    cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function signIn(username: string, password: string): Promise<void> {
    await page.goto(hub.url);
    await page.getByTestId('login-form').waitFor();
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill(password);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByTestId('who').waitFor();
  }

  test('reviewer: login, the override with its reason, mark reviewed with a note, export CSV', { timeout: 60_000 }, async () => {
    await page.goto(hub.url);
    await page.getByLabel('用户名').fill('yibaoban');
    await page.getByLabel('密码').fill('wrong-password');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('alert').filter({ hasText: '用户名或密码错误' }).waitFor();

    await signIn('yibaoban', 'review-password-1');
    const row = page.getByTestId('review-row').filter({ hasText: 'R-REPEAT-1' });
    await row.waitFor();
    assert.equal(await row.getByTestId('reason').textContent(), '患者下周出国, 需多带一个月');
    assert.match((await row.textContent()) ?? '', /呼吸科.*李医生.*PC-呼吸-07/);
    await page.screenshot({ path: join(screenshots, 'hub-review.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.ok(csv.includes('患者下周出国, 需多带一个月'), csv);

    await row.getByRole('button', { name: '标记已复核' }).click();
    await row.getByLabel('复核意见').fill('理由成立, 已电话核实');
    await row.getByRole('button', { name: '保存' }).click();
    // Pending is the default view: the reviewed row leaves it.
    await page.getByTestId('review-table').getByText('没有符合条件的记录').waitFor();
    await page.locator('select[name="reviewed"]').selectOption('yes');
    await page.getByRole('button', { name: '查询' }).click();
    await page.getByTestId('review-row').filter({ hasText: '理由成立, 已电话核实' }).waitFor();

    await page.getByRole('button', { name: '规则活跃度' }).click();
    await page.locator('[data-rule-id="R-REPEAT-1"]').waitFor();
    assert.match((await page.getByTestId('never-fired').textContent()) ?? '', /R-QUIET-9/);
    assert.equal(await page.getByRole('button', { name: '终端' }).count(), 0, 'the fleet is IT’s page');
    await page.getByRole('button', { name: '退出' }).click();
    await page.getByTestId('login-form').waitFor();
  });

  test('IT: both PCs with their versions, the truncated audit flagged, stale first', { timeout: 60_000 }, async () => {
    await signIn('xinxike', 'admin-password-1');
    const table = page.getByTestId('fleet-table');
    await table.waitFor();
    const first = table.locator('tbody tr').filter({ hasText: 'PC-心内-01' });
    const second = table.locator('tbody tr').filter({ hasText: 'PC-呼吸-07' });
    await first.waitFor();
    assert.equal(await first.getByTestId('agent-version').textContent(), '0.1.0');
    assert.equal(await first.getByTestId('rules-version').textContent(), '12');
    assert.equal(await second.getByTestId('agent-version').textContent(), '0.2.0');
    assert.equal(await second.getByTestId('rules-version').textContent(), '14');
    assert.match((await first.getByTestId('anchor-state').textContent()) ?? '', /审计被截断.*第 10 条退回到第 6 条/);
    assert.match((await second.getByTestId('anchor-state').textContent()) ?? '', /未锚定/);
    assert.equal(await page.getByRole('button', { name: '复核' }).count(), 0, 'review is the insurance office’s page');
    await page.screenshot({ path: join(screenshots, 'hub-fleet.png') });

    await page.getByRole('button', { name: '生成登记码' }).click();
    assert.match((await page.getByTestId('enrol-code').textContent()) ?? '', /[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}/);

    page.once('dialog', (dialog) => void dialog.accept());
    await first.getByRole('button', { name: '清除告警' }).click();
    await first.getByTestId('anchor-state').filter({ hasText: '未锚定' }).waitFor();
  });
});
