/**
 * A web-based HIS: a page served from another loopback origin talks to the agent from real
 * Chromium, over the WebSocket and over HTTP (CORS). The agent lets it in when its Origin is on
 * the allow-list and refuses it when not — the browser, not a test client, sets the Origin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { example, startTestAgent } from './support';
import type { Agent } from '../app/core/agent';

const chromiumPath = process.env.RXGATE_CHROMIUM ?? '/usr/bin/chromium';
// On CI a missing browser is a broken set-up, not a reason to skip (.ci/run installs it).
const skip = !process.env.CI && !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : false;

/** The HIS page: sends one check over the WebSocket and one over HTTP, and shows what came back. */
function hisPage(agentPort: number, check: unknown): string {
  return `<!doctype html><meta charset="utf-8"><title>HIS</title><pre id="ws">pending</pre><pre id="http">pending</pre>
<script>
const check = ${JSON.stringify(check)};
const socket = new WebSocket('ws://127.0.0.1:${agentPort}/v1');
socket.onopen = () => socket.send(JSON.stringify(check));
socket.onmessage = (event) => { document.getElementById('ws').textContent = 'verdict ' + JSON.parse(event.data).result; };
socket.onerror = () => { document.getElementById('ws').textContent = 'refused'; };
fetch('http://127.0.0.1:${agentPort}/v1/check', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...check, id: check.id + '-http' }) })
  .then((response) => response.json())
  .then((verdict) => { document.getElementById('http').textContent = 'verdict ' + verdict.result; })
  .catch(() => { document.getElementById('http').textContent = 'refused'; });
</script>`;
}

function serve(html: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(html());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` })),
  );
}

describe('a web-based HIS in Chromium', { skip }, () => {
  let browser: Browser;
  let agent: Agent;
  let stopAgent: () => Promise<void>;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };

  before(async () => {
    const check = { ...example('check-indication.json'), ui: 'none' };
    // The agent's port is known only once it runs; the pages read it when they are served.
    allowed = await serve(() => hisPage(agent.port, { ...check, id: 'from-allowed' }));
    other = await serve(() => hisPage(agent.port, { ...check, id: 'from-other' }));
    ({ agent, stop: stopAgent } = await startTestAgent({ allowOrigins: [allowed.origin] }));
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    await stopAgent?.();
    allowed?.server.close();
    other?.server.close();
  });

  test('an allowed origin gets verdicts over the WebSocket and over HTTP', async () => {
    const page = await browser.newPage();
    await page.goto(`${allowed.origin}/his.html`);
    await page.waitForFunction(() => document.getElementById('ws')!.textContent !== 'pending' && document.getElementById('http')!.textContent !== 'pending');
    assert.equal(await page.textContent('#ws'), 'verdict block');
    assert.equal(await page.textContent('#http'), 'verdict block');
    await page.close();
  });

  test('another origin is refused on both', async () => {
    const page = await browser.newPage();
    await page.goto(`${other.origin}/his.html`);
    await page.waitForFunction(() => document.getElementById('ws')!.textContent !== 'pending' && document.getElementById('http')!.textContent !== 'pending');
    assert.equal(await page.textContent('#ws'), 'refused');
    assert.equal(await page.textContent('#http'), 'refused');
    // Nothing from the refused page reached the engine.
    assert.equal(agent.status().checks.total, 2, 'only the allowed page’s two checks were counted');
    await page.close();
  });
});
