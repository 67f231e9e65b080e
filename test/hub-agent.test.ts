/**
 * The agent's outbox against a real hub on a throwaway PostgreSQL: a commit on agent A reaches
 * the hub from A's outbox (written in the same transaction as A's ledger row), so agent B's
 * client finds A's prescription with A's department and doctor; an agent killed with events in
 * its outbox delivers them after it restarts; the outbox holds no patient id in the clear.
 * A national 3101 request on B asks the hub the same way a native check does. A trail
 * rewritten behind the hub's anchor and grown past it is flagged at the agent's next start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startAgent, type Agent } from '../app/core/agent';
import { HubClient } from '../app/core/hub-client';
import { patientKeyer } from '../hub/security';
import { issueEnrolmentCode, startHubServer, type RunningHub } from '../hub/server';
import { HubStore } from '../hub/store/hub-store';
import { openStore } from '../rules-cache/store';
import { skipWithoutPostgres, startCluster, type TestCluster } from './postgres';
import { repeatCheck, request3101 } from './hub-support';
import { HisClient, TOKEN, example, http, temporaryDir } from './support';

const skip = skipWithoutPostgres();

describe('agents and the hub', { skip, timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let store: HubStore;
  let hub: RunningHub;
  const dirs = [temporaryDir(), temporaryDir(), temporaryDir()];
  const credentials: string[] = [];

  before(async () => {
    cluster = await startCluster();
    store = await HubStore.open(await cluster.createDatabase('agents'));
    hub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 7)) });
    for (const name of ['PC-A', 'PC-B', 'PC-C']) {
      const { code } = await issueEnrolmentCode(store, 'test');
      const client = new HubClient({ url: hub.url });
      credentials.push((await client.enrol({ code, pcName: name, agentVersion: '0.1.0' })).credential);
      client.close();
    }
  });
  after(async () => {
    await hub?.close();
    await store?.close();
    cluster?.stop();
    for (const dir of dirs) dir.remove();
  });

  const start = (index: number, url = hub.url): Promise<Agent> =>
    // A generous budget: these tests are about what arrives, not how fast (the bench measures that).
    startAgent({ dataDir: dirs[index]!.path, port: 0, token: TOKEN, hub: { url, credential: credentials[index]!, budgetMs: 5_000 }, log: () => undefined });

  /** Checks and commits the example order for `patientId` on `agent`. */
  async function commit(agent: Agent, id: string, patientId: string): Promise<void> {
    const his = await HisClient.connect(agent.port);
    try {
      const message = example('check-repeat.json');
      his.send({ ...message, id, ui: 'none', patient: { ...(message.patient as object), id: patientId } });
      await his.next((frame) => frame.type === 'verdict' && frame.id === id);
      his.send({ type: 'commit', id });
      await his.next((frame) => frame.type === 'ack' && frame.id === id);
    } finally {
      await his.close();
    }
  }

  test("a commit on A reaches the hub, where B's client finds it with A's department and doctor", async () => {
    const a = await start(0);
    try {
      await commit(a, 'hub-a-1', 'P-HUB-1');
      // The outbox is delivered soon after the write; wait until it is empty.
      for (let tries = 0; a.status().hub!.backlog > 0 && tries < 500; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      await a.hub!.settled();
      assert.equal(a.status().hub?.backlog, 0, JSON.stringify(a.status().hub));
    } finally {
      await a.stop();
    }
    const b = new HubClient({ url: hub.url, credential: credentials[1] });
    try {
      const rows = await b.lookupHistory('P-HUB-1', '2000-01-01', { budgetMs: 5_000 });
      assert.ok(rows && rows.length > 0, 'the hub has A’s order');
      const sent = example('check-repeat.json') as { visit: { dept: { code: string }; doctor: { code: string } } };
      assert.equal(rows![0]!.deptCode, sent.visit.dept.code);
      assert.equal(rows![0]!.doctorCode, sent.visit.doctor.code);
    } finally {
      b.close();
    }
  });

  test("B's check of the same patient reports the repeat with A's department and doctor, with no history from the HIS; with the hub down it answers within its budget without", async () => {
    const b = await start(1);
    try {
      const his = await HisClient.connect(b.port);
      try {
        his.send(repeatCheck('hub-b-check', 'P-HUB-1'));
        const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'hub-b-check');
        assert.deepEqual(verdict.historySources, ['ledger', 'hub']);
        const findings = verdict.findings as Array<{ ruleId: string; message: string }>;
        const repeat = findings.find((finding) => finding.ruleId === 'REP-0001');
        assert.ok(repeat, JSON.stringify(findings));
        // A (呼吸内科, 李医生) prescribed it on 11-24; B's doctor sees who and where.
        assert.match(repeat.message, /呼吸内科/);
      } finally {
        await his.close();
      }
    } finally {
      await b.stop();
    }
    // The hub unreachable: the check goes on with what it has and says so.
    const alone = await start(1, 'http://127.0.0.1:9/');
    try {
      const his = await HisClient.connect(alone.port);
      try {
        his.send(repeatCheck('hub-b-alone', 'P-HUB-1'));
        const verdict = await his.next((frame) => frame.type === 'verdict' && frame.id === 'hub-b-alone');
        assert.deepEqual(verdict.historySources, ['ledger']);
        assert.equal((verdict.findings as Array<{ ruleId: string }>).some((finding) => finding.ruleId === 'REP-0001'), false);
      } finally {
        await his.close();
      }
    } finally {
      await alone.stop();
    }
  });

  test("a national 3101 request on B flags the repeat committed on A, through the same budgeted hub lookup; without the hub it does not", async () => {
    // The example request, for A's patient, with amlodipine prescribed for 7 days on 11-28.
    const request = (taskId: string): Record<string, unknown> => request3101(taskId, 'P-HUB-1');
    const repeats = async (agent: Agent, taskId: string): Promise<Array<Record<string, unknown>>> => {
      const reply = await http(agent.port, '/nhsa/3101', { body: request(taskId) });
      assert.equal(reply.body?.infcode, 0, JSON.stringify(reply.body));
      const results = (reply.body?.output as { result: Array<Record<string, unknown>> }).result;
      return results.filter((result) => result.rule_id === 'REP-0001');
    };
    const b = await start(1);
    try {
      // Over the WebSocket national replies carry nothing that names the request: they come back
      // in the order sent, the 3101 (which waits for the hub) before the 9001 sent right after it.
      const his = await HisClient.connect(b.port);
      try {
        his.send({ ...request('t-hub-3101-ws'), msgid: 'MSG-HUB-WS' });
        his.send({ infno: '9001', input: { signIn: { opter_no: 'D019', mac: '00-16-EA-AE-3C-40', ip: '127.0.0.1' } } });
        const first = await his.next((frame) => frame.infcode !== undefined);
        const second = await his.next((frame) => frame.infcode !== undefined);
        assert.ok((first.output as { result?: unknown }).result, `the 3101's reply first: ${JSON.stringify(first)}`);
        assert.ok((second.output as { signinoutb?: unknown }).signinoutb, `then the 9001's: ${JSON.stringify(second)}`);
      } finally {
        await his.close();
      }
      const found = await repeats(b, 't-hub-3101');
      assert.equal(found.length, 1, 'the repeat A committed is flagged');
      // A (呼吸内科) prescribed it on 11-24; the national reply names where.
      assert.match(String(found[0]!.vola_cont), /呼吸内科/);
      assert.equal(found[0]!.patn_id, 'P-HUB-1');
    } finally {
      await b.stop();
    }
    const alone = await start(1, 'http://127.0.0.1:9/');
    try {
      assert.deepEqual(await repeats(alone, 't-hub-3101-alone'), []);
    } finally {
      await alone.stop();
    }
  });

  test('events waiting when the hub is unreachable stay in the outbox (encrypted) and are delivered after a restart', async () => {
    // The hub's address is wrong at first: the events wait.
    const away = await start(1, 'http://127.0.0.1:9/');
    await commit(away, 'hub-b-1', 'P-HUB-2');
    assert.ok(away.status().hub!.backlog > 0);
    await away.stop();
    const database = readFileSync(join(dirs[1]!.path, 'rxgate.db'));
    const wal = readFileSync(join(dirs[1]!.path, 'rxgate.db-wal'), { flag: 'a+' });
    assert.equal(database.includes(Buffer.from('P-HUB-2')) || wal.includes(Buffer.from('P-HUB-2')), false, 'no patient id in the clear');
    const back = await start(1);
    try {
      for (let tries = 0; back.status().hub!.backlog > 0 && tries < 500; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(back.status().hub?.backlog, 0);
    } finally {
      await back.stop();
    }
    const reader = new HubClient({ url: hub.url, credential: credentials[0] });
    try {
      const rows = await reader.lookupHistory('P-HUB-2', '2000-01-01', { budgetMs: 5_000 });
      assert.ok(rows && rows.length > 0, 'delivered after the restart');
    } finally {
      reader.close();
    }
  });

  test("a trail rewritten and grown past what the hub anchored, by someone holding the key, is flagged after the agent's next start", async () => {
    const until = async (what: string, done: () => boolean): Promise<void> => {
      for (let tries = 0; !done(); tries += 1) {
        if (tries > 1_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const drained = (agent: Agent) => () => {
      const state = agent.status().hub!;
      return state.anchor !== undefined && state.backlog === 0 && state.state === 'idle';
    };
    const c = await start(2);
    try {
      for (let index = 0; index < 3; index += 1) await commit(c, `hub-c-${index}`, `P-HUB-C-${index}`);
    } finally {
      await c.stop();
    }
    // A start reports the chain head: the hub anchors the trail as it is now.
    const again = await start(2);
    let anchored: number;
    try {
      await until('the head to be anchored', drained(again));
      assert.equal(again.status().hub!.anchor!.state, 'ok');
      anchored = again.status().hub!.anchor!.seq!;
      assert.equal(anchored, again.store.auditHead()!.seq);
    } finally {
      await again.stop();
    }
    // The newest records replaced by more of the attacker's own, keyed and chained, and the local anchor made to agree.
    const file = join(dirs[2]!.path, 'rxgate.db');
    const raw = new Database(file);
    try {
      raw.exec('DROP TRIGGER IF EXISTS audit_no_delete');
      assert.ok(raw.prepare('DELETE FROM audit WHERE seq > ?').run(anchored - 3).changes >= 3);
    } finally {
      raw.close();
    }
    const forged = openStore(file, { purgeOnOpen: false });
    try {
      for (let index = 0; index < 6; index += 1) forged.appendAudit({ type: 'check', checkId: `forged-${index}`, data: { result: 'pass' } });
      assert.ok(forged.writeAuditAnchor()!.seq > anchored, 'the forged trail is longer than what the hub anchored');
      assert.equal(forged.verifyAudit().ok, true, 'locally, the forged trail verifies');
    } finally {
      forged.close();
    }
    const back = await start(2);
    try {
      await until('the hub to answer the head', drained(back));
      const anchor = back.status().hub!.anchor!;
      assert.equal(anchor.state, 'rewritten', JSON.stringify(anchor));
      assert.match(anchor.detail ?? '', new RegExp(`第 ${anchored} 条审计记录已被改写`));
    } finally {
      await back.stop();
    }
  });
});
