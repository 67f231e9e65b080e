/**
 * What the popup's Chromium tests share: a headless agent serving a freshly built UI, Chromium
 * showing it, and a HIS client — started once per file, torn down by `close`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAgent, type Agent } from '../app/core/agent';
import { buildRenderer } from '../scripts/build-renderer';
import { HisClient } from './support';

export const chromiumPath = process.env.RXGATE_CHROMIUM ?? '/usr/bin/chromium';
/** On CI a missing browser is a broken set-up, not a reason to skip (.ci/run installs it). */
export const skipWithoutChromium: string | false = process.env.CI ? false : !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : false;

export interface PopupFixture {
  agent: Agent;
  browser: Browser;
  page: Page;
  his: HisClient;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts the agent on `rules` (a library file, or a library written to one), opens its UI in
 * Chromium at `viewport`, waits for the status view, and connects a HIS with `token`.
 */
export async function openPopupFixture(options: {
  name: string;
  token: string;
  rules: string | object;
  viewport: { width: number; height: number };
}): Promise<PopupFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), `rxgate-${options.name}-test-`));
  let rulesFile = options.rules;
  if (typeof rulesFile !== 'string') {
    writeFileSync(join(dataDir, 'rules.json'), JSON.stringify(rulesFile));
    rulesFile = join(dataDir, 'rules.json');
  }
  let agent: Agent | undefined;
  let browser: Browser | undefined;
  try {
    const { outDir } = await buildRenderer({ outDir: join(dataDir, 'ui') });
    agent = await startAgent({ dataDir: join(dataDir, 'data'), port: 0, token: options.token, rulesFile, uiDir: outDir });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: options.viewport });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await page.goto(agent.uiUrl);
    await page.getByTestId('status').waitFor();
    const his = await HisClient.connect(agent.port, { token: options.token });
    const started = { agent, browser };
    return {
      agent,
      browser,
      page,
      his,
      dataDir,
      async close() {
        await his.close();
        await started.browser.close();
        await started.agent.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // Nothing left running behind a failed start.
    await browser?.close();
    await agent?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Waits until the popup shows check `id` and has put the focus on an item card. The focus moves
 * in an effect after the popup renders; keys pressed before that land elsewhere (seen on a
 * loaded CI machine), and a popup still showing the previous check is not this one.
 */
export async function popupShowing(page: Page, id: string): Promise<void> {
  await page.locator(`[data-testid="popup"][data-check-id="${id}"]`).waitFor();
  await page.waitForFunction(() => document.activeElement?.closest('[data-line]') != null);
}
