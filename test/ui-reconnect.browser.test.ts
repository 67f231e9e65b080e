/**
 * A browser window left open across an agent restart, in real Chromium against the real
 * headless agent: with the UI token kept in the data folder (as `rxgate agent` keeps it) the
 * window reconnects by itself and the next popup reaches it; when the token did change, the
 * window says so and where the new address is, instead of "not responding" for ever.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startAgent, type Agent } from '../app/core/agent';
import { resolveUiToken } from '../app/core/config';
import type { CheckInput } from '../app/core/protocol/messages';
import { buildRenderer } from '../scripts/build-renderer';
import { HisClient } from './support';

const root = resolve(__dirname, '..');
const chromiumPath = process.env.RXGATE_CHROMIUM ?? '/usr/bin/chromium';
const token = 'browser-test-token-0123456789';
const skip = process.env.CI ? false : !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : false;

function example(id: string): CheckInput {
  return { ...(JSON.parse(readFileSync(join(root, 'examples', 'check-indication.json'), 'utf8')) as { message: CheckInput }).message, id };
}

describe('the UI window across an agent restart', { skip, timeout: 120_000 }, () => {
  let browser: Browser;
  let dir: string;
  let uiDir: string;
  const agents: Agent[] = [];
  const start = async (dataDir: string, port: number, uiToken: string) => {
    const agent = await startAgent({ dataDir, port, token, uiToken, uiDir, rulesFile: join(root, 'examples', 'rules.json') });
    agents.push(agent);
    return agent;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rxgate-ui-reconnect-'));
    uiDir = (await buildRenderer({ outDir: join(dir, 'ui') })).outDir;
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    for (const agent of agents) await agent.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the same token from the data folder: the window reconnects and the next popup reaches it', async () => {
    const dataDir = join(dir, 'same');
    const uiToken = resolveUiToken(dataDir);
    const first = await start(dataDir, 0, uiToken);
    const port = first.port;
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(first.uiUrl);
    await page.getByTestId('status').waitFor();
    await first.stop();
    await page.getByRole('alert').filter({ hasText: '连接已断开' }).first().waitFor();
    assert.equal(resolveUiToken(dataDir), uiToken, 'the token outlives the agent');
    const second = await start(dataDir, port, resolveUiToken(dataDir));
    const his = await HisClient.connect(second.port, { token });
    try {
      his.send(example('c-after-restart'));
      await page.locator('[data-testid="popup"][data-check-id="c-after-restart"]').waitFor();
    } finally {
      await his.close();
      await page.close();
    }
  });

  test('a changed token: the window names the cause and where the new address is', async () => {
    const dataDir = join(dir, 'changed');
    const first = await start(dataDir, 0, 'first-ui-token-0123456789');
    const port = first.port;
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    try {
      await page.goto(first.uiUrl);
      await page.getByTestId('status').waitFor();
      await first.stop();
      await start(dataDir, port, 'second-ui-token-0123456789');
      await page.getByText('不认这个界面的令牌').first().waitFor();
      assert.match((await page.getByText('不认这个界面的令牌').first().textContent()) ?? '', /ui-address\.txt/);
    } finally {
      await page.close();
    }
  });
});
