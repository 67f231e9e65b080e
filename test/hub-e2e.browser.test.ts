/**
 * The hospital hub end to end, as in production: one throwaway PostgreSQL database served by
 * two `rxgate hub` processes, agent A (a real `rxgate agent` process) talking to hub 1 and
 * agent B to hub 2. A commit on A makes B's check of the same patient report the repeat with
 * A's department and doctor; an override reported on B through 3103 reaches the insurance
 * office's review page in Chromium; both agents stand in IT's fleet page with their versions;
 * with both hubs stopped B keeps answering and its commits wait in the outbox, then arrive
 * exactly once; A killed with SIGKILL with a backlog delivers it after restart; A's audit trail
 * cut short (by someone holding its key) is flagged by the hub, in the fleet page and in A's
 * own status.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeHubCredential } from '../app/core/config';
import { HubClient } from '../app/core/hub-client';
import type { StatusView } from '../app/core/protocol/ui';
import { AGENT_VERSION } from '../app/core/version';
import { buildConsole } from '../hub/console/build';
import { hashPassword, loadOrCreateKeyFile } from '../hub/security';
import { issueEnrolmentCode } from '../hub/server';
import { HubStore } from '../hub/store/hub-store';
import { openStore } from '../rules-cache/store';
import { TOKEN as AGENT_TOKEN, agentStatus, killHard, startAgentProcess, stopGracefully, type AgentProcess } from '../scripts/reliability/harness';
import { repeatCheck, request3101, startHubProcess, type HubProcess } from './hub-support';
import { skipWithoutPostgres, startCluster, type TestCluster } from './postgres';
import { HisClient, example, http } from './support';

const root = resolve(__dirname, '..');
const chromiumPath = process.env.RXGATE_CHROMIUM ?? '/usr/bin/chromium';
const skip = skipWithoutPostgres() || (process.env.CI ? false : !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : false);

type Frame = Record<string, unknown>;

/** Polls `probe` until it returns a value (not undefined); fails with `what` after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function status(agent: AgentProcess): Promise<StatusView> {
  return (await agentStatus(agent.port)) as unknown as StatusView;
}

/** The event ids waiting in an agent's outbox, read beside the running (or killed) agent. */
function outboxIds(dataDir: string): string[] {
  const raw = new Database(join(dataDir, 'rxgate.db'), { readonly: true, fileMustExist: true });
  try {
    return raw.prepare('SELECT id FROM outbox ORDER BY seq').pluck().all() as string[];
  } finally {
    raw.close();
  }
}


describe('the hub end to end: two hub processes on one database, two agent processes', { skip, timeout: 240_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'rxgate-hub-e2e-'));
  const keyFile = join(work, 'hub.key');
  const consoleDir = join(work, 'console');
  const dirs = { a: join(work, 'agent-a'), b: join(work, 'agent-b') };
  let cluster: TestCluster;
  let databaseUrl: string;
  let store: HubStore;
  let database: Client;
  const hubs: HubProcess[] = [];
  const agents: { a?: AgentProcess; b?: AgentProcess } = {};
  const agentIds = { a: '', b: '' };
  let browser: Browser;

  /** Starts hub `index` (0 or 1), on `port` when it is a restart so that its agent finds it again. */
  async function startHub(index: number, port = 0): Promise<HubProcess> {
    const hub = await startHubProcess(databaseUrl, keyFile, ['--console-dir', consoleDir, '--port', String(port)]);
    hubs[index] = hub;
    return hub;
  }

  async function stopHub(index: number): Promise<void> {
    await hubs[index]!.stop();
  }

  function hubPort(index: number): number {
    return Number(new URL(hubs[index]!.url).port);
  }

  async function startAgentOf(name: 'a' | 'b'): Promise<AgentProcess> {
    const agent = await startAgentProcess(dirs[name]);
    agents[name] = agent;
    return agent;
  }

  /** Resolves once the agent's outbox is empty (everything it wrote has reached the hub). */
  function delivered(agent: AgentProcess, timeoutMs = 60_000): Promise<StatusView> {
    return until(
      'the outbox to drain',
      async () => {
        const view = await status(agent);
        return view.hub?.backlog === 0 && view.hub.state === 'idle' ? view : undefined;
      },
      timeoutMs,
    );
  }

  /** Checks (no popup) and commits a native check on `agent`; answers the verdict. */
  async function checkAndCommit(agent: AgentProcess, message: Frame): Promise<Frame> {
    const his = await HisClient.connect(agent.port, { token: AGENT_TOKEN });
    try {
      const verdict = await his.request(message, 'verdict');
      assert.equal(verdict.type, 'verdict', JSON.stringify(verdict));
      const ack = await his.request({ type: 'commit', id: message.id }, 'ack');
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      return verdict;
    } finally {
      await his.close();
    }
  }

  async function check(agent: AgentProcess, message: Frame): Promise<Frame> {
    const his = await HisClient.connect(agent.port, { token: AGENT_TOKEN });
    try {
      return await his.request(message, 'verdict');
    } finally {
      await his.close();
    }
  }

  /**
   * Sends a 3101 to `agent` and answers its warn-level REP-0001 with 继续 and `reason` through
   * 3103, as a national-interface HIS reports the doctor's choice.
   */
  async function overrideThrough3103(agent: AgentProcess, msgid: string, patientId: string, reason: string): Promise<void> {
    const reply = await http(agent.port, '/nhsa/3101', { body: request3101(msgid, patientId), token: AGENT_TOKEN });
    assert.equal(reply.body?.infcode, 0, JSON.stringify(reply.body));
    const results = (reply.body?.output as { result: Frame[] }).result;
    const repeat = results.find((result) => result.rule_id === 'REP-0001');
    assert.ok(repeat, `the 3101 reply flags the repeat: ${JSON.stringify(results)}`);
    assert.equal(repeat.sev_deg, '2', 'a warning, not a block');
    const feedback = await http(agent.port, '/nhsa/3103', {
      body: { infno: '3103', msgid: `F-${msgid}`, input: { data: { warn_type: '1', warns: [{ warn_rslt_id: repeat.jr_id, dspo_way: '1', dspo_way_rea: reason }] } } },
      token: AGENT_TOKEN,
    });
    assert.equal(feedback.body?.infcode, 0, JSON.stringify(feedback.body));
  }

  /** How many rows of `table` each of `ids` has in `column` (missing ids count 0). */
  async function rowsBy(table: 'agent_events' | 'decisions' | 'ledger', column: 'event_id' | 'check_id', ids: string[]): Promise<Map<string, number>> {
    const result = await database.query<{ id: string; count: string }>(`SELECT ${column} AS id, count(*) AS count FROM ${table} WHERE ${column} = ANY($1) GROUP BY ${column}`, [ids]);
    const counts = new Map(ids.map((id) => [id, 0]));
    for (const row of result.rows) counts.set(row.id, Number(row.count));
    return counts;
  }

  async function signedIn(username: string, password: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await page.goto(hubs[0]!.url);
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill(password);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByTestId('who').waitFor();
    return page;
  }

  before(async () => {
    cluster = await startCluster();
    databaseUrl = await cluster.createDatabase('e2e');
    loadOrCreateKeyFile(keyFile);
    await buildConsole({ outDir: consoleDir });
    await Promise.all([startHub(0), startHub(1)]);
    store = await HubStore.open(databaseUrl, { maxConnections: 2 });
    database = new Client({ connectionString: databaseUrl });
    await database.connect();
    await store.addUser('yibaoban', await hashPassword('review-password-1'), 'reviewer');
    await store.addUser('xinxike', await hashPassword('admin-password-1'), 'admin');
    // Each agent enrolled through its own hub process; the credential goes where `rxgate enrol` puts it.
    for (const [name, index] of [['a', 0], ['b', 1]] as const) {
      const { code } = await issueEnrolmentCode(store, 'test');
      const client = new HubClient({ url: hubs[index]!.url });
      const enrolment = await client.enrol({ code, pcName: `PC-${name.toUpperCase()}`, agentVersion: AGENT_VERSION });
      client.close();
      agentIds[name] = enrolment.agentId;
      writeHubCredential(dirs[name], enrolment.credential);
      // A budget well above the default: this file is about what arrives, on a shared machine
      // whose first request to a cold hub process can take longer than 25 ms (the bench measures speed).
      // The token there too, so that `rxgate status --data-dir` reaches the running agent as IT would.
      writeFileSync(join(dirs[name], 'config.json'), JSON.stringify({ hubUrl: hubs[index]!.url, hubBudgetMs: 1000, token: AGENT_TOKEN }));
    }
    await Promise.all([startAgentOf('a'), startAgentOf('b')]);
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  after(async () => {
    await browser?.close();
    for (const agent of Object.values(agents)) if (agent) await killHard(agent);
    for (const hub of hubs) await hub?.stop();
    await database?.end();
    await store?.close();
    cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("a commit on A makes B's check of the same patient report the repeat with A's department and doctor", { timeout: 60_000 }, async () => {
    const sent = example('check-repeat.json');
    await checkAndCommit(agents.a!, { ...sent, id: 'e2e-a-1', ui: 'none', patient: { ...(sent.patient as object), id: 'P-E2E-1' }, history: [] });
    await delivered(agents.a!);
    const verdict = await check(agents.b!, repeatCheck('e2e-b-1', 'P-E2E-1'));
    assert.deepEqual(verdict.historySources, ['ledger', 'hub']);
    const repeat = (verdict.findings as Array<{ ruleId: string; message: string }>).find((finding) => finding.ruleId === 'REP-0001');
    assert.ok(repeat, JSON.stringify(verdict.findings));
    // A (呼吸内科, 李医生) prescribed it on 11-24; B's doctor in 心内科 sees who and where.
    assert.match(repeat.message, /2026-11-24 呼吸内科 李医生/);
  });

  test('an override reported on B through 3103 appears in the review page with its reason', { timeout: 60_000 }, async () => {
    await overrideThrough3103(agents.b!, 'MSG-E2E-OVR-1', 'P-E2E-1', '患者下周出国, 需多带一个月');
    await delivered(agents.b!);
    const page = await signedIn('yibaoban', 'review-password-1');
    try {
      const row = page.getByTestId('review-row').filter({ hasText: 'REP-0001' });
      await row.waitFor();
      assert.equal(await row.getByTestId('reason').textContent(), '患者下周出国, 需多带一个月');
      assert.match((await row.textContent()) ?? '', /心内科.*王医生/);
    } finally {
      await page.context().close();
    }
  });

  test('both agents appear in the fleet page with their agent and rule versions', { timeout: 60_000 }, async () => {
    const page = await signedIn('xinxike', 'admin-password-1');
    try {
      await page.getByTestId('fleet-table').waitFor();
      for (const name of ['a', 'b'] as const) {
        const view = await status(agents[name]!);
        const row = page.locator(`tr[data-agent-id="${agentIds[name]}"]`);
        await row.waitFor();
        assert.equal(await row.getByTestId('agent-version').textContent(), AGENT_VERSION);
        assert.ok(view.rules, 'the agent has rules');
        assert.equal(await row.getByTestId('rules-version').textContent(), String(view.rules.version));
        assert.match((await row.getByTestId('anchor-state').textContent()) ?? '', /正常/);
      }
    } finally {
      await page.context().close();
    }
  });

  test('both hubs stopped: B keeps answering without the hub and queues; restarted, every event arrives exactly once', { timeout: 90_000 }, async () => {
    const ports = [hubPort(0), hubPort(1)];
    await Promise.all([stopHub(0), stopHub(1)]);
    const verdict = await check(agents.b!, repeatCheck('e2e-b-down-1', 'P-E2E-1'));
    assert.equal(verdict.type, 'verdict');
    assert.notEqual(verdict.result, 'unchecked');
    assert.deepEqual(verdict.historySources, ['ledger'], 'the verdict says the hub did not answer');
    // Commits and a decision meanwhile wait in B's outbox.
    const commits = ['e2e-b-down-2', 'e2e-b-down-3', 'e2e-b-down-4'];
    for (const [index, id] of commits.entries()) await checkAndCommit(agents.b!, repeatCheck(id, `P-E2E-DOWN-${index}`));
    // The repeat of B's own commit, found in B's ledger without the hub, continued with a reason.
    await overrideThrough3103(agents.b!, 'MSG-E2E-OVR-2', 'P-E2E-DOWN-0', '停机期间: 患者出差带药');
    const waiting = await status(agents.b!);
    assert.ok(waiting.hub!.backlog >= commits.length + 1, JSON.stringify(waiting.hub));
    assert.ok(waiting.hub!.lastError, 'the delivery failed and says why');
    const queued = outboxIds(dirs.b);
    assert.equal(queued.length, waiting.hub!.backlog);

    await Promise.all([startHub(0, ports[0]), startHub(1, ports[1])]);
    await delivered(agents.b!);
    const events = await rowsBy('agent_events', 'event_id', queued);
    assert.deepEqual([...events.entries()].filter(([, count]) => count !== 1), [], 'each queued event exactly once');
    const lines = await rowsBy('ledger', 'check_id', commits);
    assert.deepEqual([...lines.values()], [1, 1, 1], 'each commit’s line exactly once');
    const decisions = await database.query<{ count: string }>("SELECT count(*) FROM decisions WHERE check_id = 'MSG-E2E-OVR-2'");
    assert.equal(Number(decisions.rows[0]!.count), 1, 'the override exactly once');
    // And with the hubs back, B asks them again.
    const again = await check(agents.b!, repeatCheck('e2e-b-up-1', 'P-E2E-1'));
    assert.deepEqual(again.historySources, ['ledger', 'hub']);
  });

  test('A killed with SIGKILL with events in its outbox delivers them after it restarts', { timeout: 90_000 }, async () => {
    const port = hubPort(0);
    // A's hub unreachable first, so that the backlog is certain when the kill lands.
    await stopHub(0);
    const commits = ['e2e-a-kill-1', 'e2e-a-kill-2'];
    for (const [index, id] of commits.entries()) await checkAndCommit(agents.a!, repeatCheck(id, `P-E2E-KILL-${index}`));
    const before = await status(agents.a!);
    assert.ok(before.hub!.backlog > 0, JSON.stringify(before.hub));
    await killHard(agents.a!);
    const queued = outboxIds(dirs.a);
    assert.ok(queued.length >= commits.length, `the outbox survived the kill: ${queued.length}`);

    await startHub(0, port);
    const restarted = await startAgentOf('a');
    await delivered(restarted);
    const events = await rowsBy('agent_events', 'event_id', queued);
    assert.deepEqual([...events.entries()].filter(([, count]) => count !== 1), [], 'each event left by the kill exactly once');
    assert.deepEqual([...(await rowsBy('ledger', 'check_id', commits)).values()], [1, 1]);
  });

  test("A's audit trail cut short and re-anchored locally is flagged by the hub: fleet page and A's own status", { timeout: 90_000 }, async () => {
    // A restart reports the chain head: the hub anchors A's trail as it is now.
    assert.equal(await stopGracefully(agents.a!), 0);
    const stoppedAt = openStore(join(dirs.a, 'rxgate.db'), { purgeOnOpen: false });
    const stoppedHead = stoppedAt.auditHead()!;
    stoppedAt.close();
    await startAgentOf('a');
    await delivered(agents.a!);
    const anchored = await until('the hub to anchor A’s head', async () => {
      const row = (await store.fleet()).find((candidate) => candidate.agentId === agentIds.a);
      return row && row.anchorSeq !== null && row.anchorSeq >= stoppedHead.seq ? row : undefined;
    });
    assert.equal(anchored.anchorState, 'ok');
    // What a start-up writes before it reports: the cut must reach below the anchor despite it.
    const writtenAtStart = anchored.anchorSeq! - stoppedHead.seq;
    assert.equal(await stopGracefully(agents.a!), 0);

    // Someone holding A's key removes the newest records and makes the local anchor agree.
    const keep = stoppedHead.seq - 5;
    const raw = new Database(join(dirs.a, 'rxgate.db'));
    try {
      raw.exec('DROP TRIGGER IF EXISTS audit_no_delete');
      assert.ok(raw.prepare('DELETE FROM audit WHERE seq > ?').run(keep).changes > writtenAtStart);
    } finally {
      raw.close();
    }
    const attacker = openStore(join(dirs.a, 'rxgate.db'), { purgeOnOpen: false });
    try {
      assert.equal(attacker.writeAuditAnchor()?.seq, keep);
      // The trail itself still verifies: locally, nothing shows.
      assert.equal(attacker.verifyAudit().ok, true);
    } finally {
      attacker.close();
    }

    await startAgentOf('a');
    const flagged = await until('A’s status to carry the hub’s flag', async () => {
      const view = await status(agents.a!);
      return view.hub?.anchor?.state === 'truncated' ? view : undefined;
    });
    assert.match(flagged.hub!.anchor!.detail ?? '', new RegExp(`第 ${anchored.anchorSeq} 条退回到第 \\d+ 条`));
    assert.equal(flagged.integrity.audit.state === 'broken', false, 'the local check alone does not see it');
    const command = spawnSync(process.execPath, [join(root, 'bin', 'rxgate.js'), 'status', '--data-dir', dirs.a], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(command.status, 0, command.stderr);
    assert.match(command.stdout, new RegExp(`院端发现本机审计记录被截断: 审计记录从第 ${anchored.anchorSeq} 条退回到第 \\d+ 条`));

    const page = await signedIn('xinxike', 'admin-password-1');
    try {
      const row = page.locator(`tr[data-agent-id="${agentIds.a}"]`);
      await row.waitFor();
      assert.match((await row.getByTestId('anchor-state').textContent()) ?? '', /审计被截断/);
      assert.match((await row.getAttribute('class')) ?? '', /flagged/);
      const other = page.locator(`tr[data-agent-id="${agentIds.b}"]`);
      assert.doesNotMatch((await other.getByTestId('anchor-state').textContent()) ?? '', /审计被截断/);
    } finally {
      await page.context().close();
    }
  });
});
