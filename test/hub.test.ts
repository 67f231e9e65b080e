/**
 * The hub against a real, throwaway PostgreSQL: migrations under concurrency, enrolment and
 * revocation, idempotent ingest through two hub processes on one database, the cross-PC
 * history lookup, audit anchoring, TLS, and the client's time budget.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { HubClient, HubError } from '../app/core/hub-client';
import type { HubEvent } from '../app/core/protocol/hub';
import { DEFAULT_RETENTION, purgeExpired } from '../hub/retention';
import { loadOrCreateKeyFile, patientKeyer, verifyPassword } from '../hub/security';
import { issueEnrolmentCode, startHubServer, type RunningHub } from '../hub/server';
import { HubStore } from '../hub/store/hub-store';
import { HUB_SCHEMA_VERSION } from '../hub/store/migrations';
import { decisionEvent, headEvent, orderEvent, startHubProcess, statusEvent, type HubProcess } from './hub-support';
import { skipWithoutPostgres, startCluster, type TestCluster } from './postgres';

const root = join(__dirname, '..');
const skip = skipWithoutPostgres();
const today = new Date().toISOString().slice(0, 10);

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Runs `rxgate hub …` to completion; returns stdout. */
function hubCli(databaseUrl: string, args: string[], input?: string): string {
  const result = spawnSync(process.execPath, [join(root, 'bin', 'rxgate.js'), 'hub', ...args], {
    env: { ...process.env, RXGATE_HUB_DATABASE: databaseUrl },
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `rxgate hub ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function codeFrom(output: string): string {
  const match = /登记码: (\S+)/.exec(output);
  assert.ok(match, output);
  return match[1]!;
}

describe('hub on PostgreSQL', { skip, timeout: 240_000 }, () => {
  let cluster: TestCluster;
  const work = mkdtempSync(join(tmpdir(), 'rxgate-hub-test-'));

  before(async () => {
    cluster = await startCluster();
  });

  after(() => {
    cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('migrations run once when hubs start together, and a newer database is refused', { timeout: 60_000 }, async () => {
    const url = await cluster.createDatabase('migrations');
    const stores = await Promise.all([HubStore.open(url), HubStore.open(url), HubStore.open(url)]);
    await Promise.all(stores.map((store) => store.close()));
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const applied = await client.query<{ version: number }>('SELECT version FROM hub_migrations ORDER BY version');
      assert.deepEqual(
        applied.rows.map((row) => row.version),
        Array.from({ length: HUB_SCHEMA_VERSION }, (_, index) => index + 1),
      );
      await client.query("INSERT INTO hub_migrations (version, name) VALUES (999, 'from the future')");
    } finally {
      await client.end();
    }
    await assert.rejects(HubStore.open(url), /比本程序支持的 \d+ 新/);
  });

  test('two hub processes on one database: enrolment, idempotent ordered ingest, cross-PC history, revocation', { timeout: 120_000 }, async () => {
    const url = await cluster.createDatabase('fleet');
    const keyFile = join(work, 'fleet.key');
    loadOrCreateKeyFile(keyFile);
    const hubs: HubProcess[] = [];
    const clients: HubClient[] = [];
    try {
      // Both start at once: the advisory lock lets one migrate while the other waits.
      hubs.push(...(await Promise.all([startHubProcess(url, keyFile, ['--console-dir', work]), startHubProcess(url, keyFile, ['--console-dir', work])])));
      const [hub1, hub2] = hubs as [HubProcess, HubProcess];
      // A third process with another patient-id key would write hashes nobody can match: refused.
      await assert.rejects(startHubProcess(url, join(work, 'other.key'), ['--console-dir', work]), /密钥.*不一致/);
      const codeA = codeFrom(hubCli(url, ['enrol-code']));
      const codeB = codeFrom(hubCli(url, ['enrol-code', '--hours', '2']));

      const enrolA = new HubClient({ url: hub1.url });
      clients.push(enrolA);
      const a = await enrolA.enrol({ code: codeA, pcName: 'PC-心内-01', agentVersion: '0.1.0' });
      await assert.rejects(enrolA.enrol({ code: codeA, pcName: 'PC-again', agentVersion: '0.1.0' }), (error: HubError) => {
        assert.equal(error.code, 'bad_code');
        assert.equal(error.status, 403);
        return true;
      });
      const b = await new HubClient({ url: hub2.url }).enrol({ code: codeB.toLowerCase(), pcName: 'PC-呼吸-07', agentVersion: '0.1.0' });

      const aOn1 = new HubClient({ url: hub1.url, credential: a.credential });
      const aOn2 = new HubClient({ url: hub2.url, credential: a.credential });
      const bOn2 = new HubClient({ url: hub2.url, credential: b.credential });
      clients.push(aOn1, aOn2, bOn2);

      const batch: HubEvent[] = [
        orderEvent(1, { checkId: 'c-1', patientId: 'P-1001', date: today, code: 'XC08CAA001', name: '氨氯地平片', dept: ['0301', '心内科'], doctor: ['D017', '王医生'], days: 30 }),
        decisionEvent(2, { checkId: 'c-1', patientId: 'P-1001', ruleId: 'R-REPEAT-1', reason: '患者外出需带药', dept: ['0301', '心内科'], doctor: ['D017', '王医生'] }),
        statusEvent(3, 'PC-心内-01', '0.1.0', 12, ['R-REPEAT-1', 'R-NEVER-1']),
        headEvent(4, { seq: 3, hash: sha('a3') }),
      ];
      // The same batch through both processes at once, as a retry racing the original would.
      const [first, second] = await Promise.all([aOn1.deliver(batch), aOn2.deliver(batch)]);
      assert.equal(first.accepted + second.accepted, batch.length);
      assert.equal(first.duplicates + second.duplicates, batch.length);
      assert.equal(Math.max(first.lastSeq, second.lastSeq), 4);
      const again = await aOn2.deliver(batch);
      assert.deepEqual([again.accepted, again.duplicates, again.lastSeq], [0, batch.length, 4]);

      const store = await HubStore.open(url);
      try {
        assert.equal(await store.eventCount(a.agentId), batch.length);
        assert.equal(await store.ledgerCount(), 1);
        const fleet = await store.fleet();
        const pcA = fleet.find((row) => row.agentId === a.agentId)!;
        assert.equal(pcA.rulesVersion, 12);
        assert.equal(pcA.anchorState, 'ok');
      } finally {
        await store.close();
      }

      // B, on another PC and through the other process, sees A's order with A's dept and doctor.
      const rows = await bOn2.lookupHistory('P-1001', '2000-01-01', { budgetMs: 5_000 });
      assert.ok(rows);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.code, 'XC08CAA001');
      assert.equal(rows[0]!.deptName, '心内科');
      assert.equal(rows[0]!.doctorName, '王医生');
      assert.equal(rows[0]!.pcName, 'PC-心内-01');
      assert.equal(rows[0]!.days, 30);
      assert.deepEqual(await bOn2.lookupHistory('P-9999', '2000-01-01', { budgetMs: 5_000 }), []);
      assert.deepEqual(await bOn2.lookupHistory('P-1001', '2999-01-01', { budgetMs: 5_000 }), []);

      // Recording the order again replaces its lines instead of adding to them.
      const replaced = orderEvent(5, { checkId: 'c-1', patientId: 'P-1001', date: today, code: 'XC08CAA001', name: '氨氯地平片', dept: ['0301', '心内科'], doctor: ['D017', '王医生'], days: 14 });
      await aOn1.deliver([replaced]);
      const after = await bOn2.lookupHistory('P-1001', '2000-01-01', { budgetMs: 5_000 });
      assert.deepEqual(after?.map((row) => row.days), [14]);

      // A batch out of order is refused whole, and not worth retrying.
      await assert.rejects(aOn1.deliver([statusEvent(9, 'x', '0.1.0', 1), statusEvent(8, 'x', '0.1.0', 1)]), (error: HubError) => {
        assert.equal(error.status, 400);
        assert.equal(error.retryable, false);
        return true;
      });

      // A wrong secret is refused; the lookup then answers null rather than throwing.
      const forged = new HubClient({ url: hub1.url, credential: `${a.agentId}.${'x'.repeat(43)}` });
      clients.push(forged);
      const counting = await HubStore.open(url);
      try {
        const before = await counting.eventCount(a.agentId);
        await assert.rejects(forged.deliver([statusEvent(6, 'x', '0.1.0', 1)]), (error: HubError) => error.status === 401 && !error.retryable);
        // The credential is checked in the statement that records event ids: nothing was recorded.
        assert.equal(await counting.eventCount(a.agentId), before);
      } finally {
        await counting.close();
      }
      assert.equal(await forged.lookupHistory('P-1001', '2000-01-01', { budgetMs: 5_000 }), null);

      hubCli(url, ['revoke', a.agentId]);
      await assert.rejects(aOn1.deliver([statusEvent(7, 'x', '0.1.0', 1)]), (error: HubError) => error.code === 'revoked' && error.status === 403);
      assert.equal(await aOn2.lookupHistory('P-1001', '2000-01-01', { budgetMs: 5_000 }), null);
      assert.ok(await bOn2.lookupHistory('P-1001', '2000-01-01', { budgetMs: 5_000 }));
    } finally {
      for (const client of clients) client.close();
      await Promise.all(hubs.map((hub) => hub.stop()));
    }
  });

  test('rxgate hub user add/passwd read the password from stdin and store a slow hash', { timeout: 60_000 }, async () => {
    const url = await cluster.createDatabase('cli_users');
    assert.match(hubCli(url, ['user', 'add', 'zhangsan', '--role', 'reviewer'], 'first-password-1\n'), /已新建用户 zhangsan/);
    hubCli(url, ['user', 'passwd', 'zhangsan'], 'second-password-2\n');
    const refused = spawnSync(process.execPath, [join(root, 'bin', 'rxgate.js'), 'hub', 'user', 'add', 'lisi', '--role', 'boss'], {
      env: { ...process.env, RXGATE_HUB_DATABASE: url },
      input: 'whatever-password\n',
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--role/);
    const store = await HubStore.open(url);
    try {
      const user = await store.userByName('zhangsan');
      assert.equal(user?.role, 'reviewer');
      assert.equal(await verifyPassword('second-password-2', user!.passwordHash), true);
      assert.equal(await verifyPassword('first-password-1', user!.passwordHash), false);
      assert.equal(await store.userByName('lisi'), null);
    } finally {
      await store.close();
    }
  });

  describe('in-process hub', { timeout: 120_000 }, () => {
    let store: HubStore;
    let hub: RunningHub;
    let url: string;

    before(async () => {
      url = await cluster.createDatabase('inprocess');
      store = await HubStore.open(url);
      hub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 7)) });
    });

    after(async () => {
      await hub?.close();
      await store?.close();
    });

    async function enrolled(pcName: string): Promise<{ client: HubClient; agentId: string }> {
      const { code } = await issueEnrolmentCode(store, 'test');
      const enrolment = new HubClient({ url: hub.url });
      const reply = await enrolment.enrol({ code, pcName, agentVersion: '0.1.0' });
      enrolment.close();
      return { client: new HubClient({ url: hub.url, credential: reply.credential }), agentId: reply.agentId };
    }

    test('anchoring flags a chain that went back (truncated) and one that changed (rewritten)', { timeout: 30_000 }, async () => {
      const { client, agentId } = await enrolled('PC-anchor-1');
      try {
        let reply = await client.deliver([headEvent(1, { seq: 5, hash: sha('5') })]);
        assert.deepEqual(reply.anchor, { state: 'ok', seq: 5 });
        reply = await client.deliver([headEvent(2, { seq: 9, hash: sha('9'), previous: { seq: 5, hash: sha('5') } })]);
        assert.equal(reply.anchor.state, 'ok');
        assert.equal(reply.anchor.seq, 9);
        // The same head again (a periodic report with nothing new) is fine.
        reply = await client.deliver([headEvent(3, { seq: 9, hash: sha('9') })]);
        assert.equal(reply.anchor.state, 'ok');

        reply = await client.deliver([headEvent(4, { seq: 7, hash: sha('7') })]);
        assert.equal(reply.anchor.state, 'truncated');
        assert.match(reply.anchor.detail ?? '', /第 9 条退回到第 7 条/);
        // The flag stays even when later heads look fine again.
        reply = await client.deliver([headEvent(5, { seq: 12, hash: sha('12') })]);
        assert.equal(reply.anchor.state, 'truncated');
        const flagged = (await store.fleet()).find((row) => row.agentId === agentId)!;
        assert.equal(flagged.anchorState, 'truncated');

        assert.equal(await store.clearAnchor(agentId), true);
        reply = await client.deliver([headEvent(6, { seq: 20, hash: sha('20') })]);
        assert.equal(reply.anchor.state, 'ok');
        reply = await client.deliver([headEvent(7, { seq: 20, hash: sha('20-changed') })]);
        assert.equal(reply.anchor.state, 'rewritten');
      } finally {
        client.close();
      }
      const second = await enrolled('PC-anchor-2');
      try {
        await second.client.deliver([headEvent(1, { seq: 4, hash: sha('4') })]);
        // The chain grew, but its record 4 is no longer what was anchored.
        const reply = await second.client.deliver([headEvent(2, { seq: 8, hash: sha('8'), previous: { seq: 4, hash: sha('4-edited') } })]);
        assert.equal(reply.anchor.state, 'rewritten');
        assert.deepEqual(await store.anchorSeries(second.agentId), [{ seq: 4, hash: sha('4') }]);
      } finally {
        second.client.close();
      }
    });

    test('requests are validated and size-limited at the edge', { timeout: 30_000 }, async () => {
      const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
        fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
      assert.equal((await post('/api/v1/events', '{}')).status, 401);
      assert.equal((await post('/api/v1/enrol', '{"code":')).status, 400);
      assert.equal((await post('/api/v1/enrol', 'x'.repeat(20_000))).status, 413);
      assert.equal((await fetch(`${hub.url}/api/v1/enrol`, { method: 'POST', body: '{}' })).status, 415);
      assert.equal((await fetch(`${hub.url}/api/v1/history`)).status, 405);
      assert.equal((await post('/api/v1/nothing', '{}')).status, 404);
      const enrolment = await post('/api/v1/enrol', JSON.stringify({ code: 'AAAA-BBBB-CCCC-DDDD', pcName: 'x', agentVersion: '1' }));
      assert.equal(enrolment.status, 403);
    });

    test('TLS: the hub serves HTTPS with the given certificate; a client trusts it only with the CA', { timeout: 30_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rxgate-hub-tls-'));
      let tlsHub: RunningHub | undefined;
      try {
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
          '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        ], { stdio: 'ignore' });
        const cert = readFileSync(join(dir, 'cert.pem'));
        tlsHub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 7)), tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
        assert.match(tlsHub.url, /^https:/);
        const { code } = await issueEnrolmentCode(store, 'test');
        const untrusting = new HubClient({ url: tlsHub.url });
        await assert.rejects(untrusting.enrol({ code, pcName: 'PC-tls', agentVersion: '0.1.0' }), (error: HubError) => error.code === 'network');
        untrusting.close();
        const trusting = new HubClient({ url: tlsHub.url, ca: cert });
        const reply = await trusting.enrol({ code, pcName: 'PC-tls', agentVersion: '0.1.0' });
        trusting.close();
        const agent = new HubClient({ url: tlsHub.url, ca: cert, credential: reply.credential });
        assert.deepEqual(await agent.lookupHistory('P-none', '2000-01-01', { budgetMs: 5_000 }), []);
        agent.close();
      } finally {
        await tlsHub?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('hub retention on PostgreSQL', { skip, timeout: 120_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster();
  });

  after(() => cluster?.stop());

  test('the purge removes ledger rows, decisions, findings, console audit and anchors past retention and keeps recent ones', { timeout: 60_000 }, async () => {
    const url = await cluster.createDatabase('retention');
    const store = await HubStore.open(url);
    const hub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 9)) });
    const sql = new Client({ connectionString: url });
    await sql.connect();
    const daysAgo = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
    let agent: HubClient | undefined;
    try {
      const { code } = await issueEnrolmentCode(store, 'test');
      const enrolment = new HubClient({ url: hub.url });
      const { credential, agentId } = await enrolment.enrol({ code, pcName: 'PC-保留', agentVersion: '0.1.0' });
      enrolment.close();
      agent = new HubClient({ url: hub.url, credential });
      const dept: [string, string] = ['01', '内科'];
      const doctor: [string, string] = ['D1', '甲'];
      await agent.deliver([
        orderEvent(1, { checkId: 'old-1', patientId: 'P-r', date: daysAgo(200).slice(0, 10), code: 'OLD', name: '旧药', dept, doctor }),
        orderEvent(2, { checkId: 'new-1', patientId: 'P-r', date: daysAgo(170).slice(0, 10), code: 'NEW', name: '新药', dept, doctor }),
        decisionEvent(3, { checkId: 'old-1', patientId: 'P-r', ruleId: 'R-old', reason: '四年前', dept, doctor, at: daysAgo(1500) }),
        decisionEvent(4, { checkId: 'mid-1', patientId: 'P-r', ruleId: 'R-mid', reason: '两年前', dept, doctor, at: daysAgo(700) }),
        headEvent(5, { seq: 10, hash: sha('10') }),
        headEvent(6, { seq: 20, hash: sha('20') }),
        headEvent(7, { seq: 30, hash: sha('30') }),
      ]);
      await store.audit('reviewer1', 'read-decisions', { rows: 1 });
      await store.audit('reviewer1', 'read-decisions', { rows: 2 });
      // Rows as they would stand after time passed: the two first anchors and one audit entry
      // were received long ago (the third anchor too, but it is the agent's newest).
      await sql.query("UPDATE audit_anchors SET received_at = now() - interval '400 days'");
      await sql.query(
        "UPDATE console_audit SET at = now() - interval '1200 days' WHERE id = (SELECT min(id) FROM console_audit WHERE username = 'reviewer1')",
      );

      // Ledger 180 days, review material three years: the 1500-day decision goes, the 700-day one stays.
      const counts = await purgeExpired(store, DEFAULT_RETENTION, new Date(), 'test');
      assert.deepEqual(
        { ledger: counts.ledger, decisions: counts.decisions, findings: counts.findings, consoleAudit: counts.consoleAudit, anchors: counts.anchors },
        { ledger: 1, decisions: 1, findings: 1, consoleAudit: 1, anchors: 2 },
      );
      const history = await agent.lookupHistory('P-r', '2000-01-01', { budgetMs: 5_000 });
      assert.deepEqual(history?.map((row) => row.code), ['NEW']);
      const decisions = await store.decisions({ from: daysAgo(3000), kinds: ['override'] });
      assert.deepEqual(decisions.map((row) => row.ruleId), ['R-mid']);
      const activity = await store.ruleActivity(daysAgo(3000), daysAgo(0));
      assert.deepEqual(activity.filter((row) => row.findings > 0).map((row) => row.ruleId), ['R-mid']);
      assert.deepEqual(await store.anchorSeries(agentId), [{ seq: 30, hash: sha('30') }]);
      // The agent's next head is still compared with what it anchored.
      assert.equal((await agent.deliver([headEvent(8, { seq: 25, hash: sha('25') })])).anchor.state, 'truncated');
      const audit = await store.consoleAudit(10);
      assert.equal(audit.filter((entry) => entry.username === 'reviewer1').length, 1);
      const purge = audit.find((entry) => entry.action === 'purge');
      assert.equal(purge?.username, 'test');
      assert.equal(purge?.detail.decisions, 1);

      // A second purge finds nothing more and records nothing.
      const again = await purgeExpired(store, DEFAULT_RETENTION, new Date(), 'test');
      assert.ok(Object.values(again).every((count) => count === 0), JSON.stringify(again));
      assert.equal((await store.consoleAudit(10)).filter((entry) => entry.action === 'purge').length, 1);
    } finally {
      agent?.close();
      await sql.end();
      await hub.close();
      await store.close();
    }
  });

  test('`rxgate hub purge` applies the given retention; review material is kept at least a year', { timeout: 60_000 }, async () => {
    const url = await cluster.createDatabase('retention_cli');
    const store = await HubStore.open(url);
    const hub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 9)) });
    let agent: HubClient | undefined;
    try {
      const { code } = await issueEnrolmentCode(store, 'test');
      const enrolment = new HubClient({ url: hub.url });
      const { credential } = await enrolment.enrol({ code, pcName: 'PC-cli', agentVersion: '0.1.0' });
      enrolment.close();
      agent = new HubClient({ url: hub.url, credential });
      const at = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
      const dept: [string, string] = ['01', '内科'];
      const doctor: [string, string] = ['D1', '甲'];
      await agent.deliver([
        orderEvent(1, { checkId: 'c-40', patientId: 'P-c', date: at(40).slice(0, 10), code: 'D40', name: '药', dept, doctor }),
        orderEvent(2, { checkId: 'c-10', patientId: 'P-c', date: at(10).slice(0, 10), code: 'D10', name: '药', dept, doctor }),
        decisionEvent(3, { checkId: 'c-40', patientId: 'P-c', ruleId: 'R-400', dept, doctor, at: at(400) }),
        decisionEvent(4, { checkId: 'c-10', patientId: 'P-c', ruleId: 'R-10', dept, doctor, at: at(10) }),
      ]);
      const output = hubCli(url, ['purge', '--retention-days', '30', '--review-retention-days', '366']);
      assert.match(output, /处方台账 1 行/);
      assert.match(output, /复核记录 1 条/);
      assert.deepEqual((await agent.lookupHistory('P-c', '2000-01-01', { budgetMs: 5_000 }))?.map((row) => row.code), ['D10']);
      assert.deepEqual((await store.decisions({ from: at(1000) })).map((row) => row.ruleId), ['R-10']);

      const refused = spawnSync(process.execPath, [join(root, 'bin', 'rxgate.js'), 'hub', 'purge', '--review-retention-days', '90'], {
        env: { ...process.env, RXGATE_HUB_DATABASE: url },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /复核记录至少保留 366 天/);
    } finally {
      agent?.close();
      await hub.close();
      await store.close();
    }
  });
});

describe('hub client time budget', { timeout: 30_000 }, () => {
  let stalling: Server;
  let stalledPort: number;
  const held: Array<{ destroy(): void }> = [];

  before(async () => {
    // Accepts the request and never answers, as a hub stuck on its database would.
    stalling = createServer((request) => held.push(request.socket));
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    stalledPort = (stalling.address() as AddressInfo).port;
  });

  after(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => stalling.close(() => resolve()));
  });

  test('a stalled hub makes the lookup answer null instead of waiting', { timeout: 10_000 }, async () => {
    const client = new HubClient({ url: `http://127.0.0.1:${stalledPort}`, credential: `a1.${'s'.repeat(43)}` });
    try {
      const rows = await client.lookupHistory('P-1', '2000-01-01', { budgetMs: 25 });
      assert.equal(rows, null);
    } finally {
      client.close();
    }
  });

  test('a hub that is down makes the lookup answer null and a delivery fail as retryable', { timeout: 10_000 }, async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = new HubClient({ url: `http://127.0.0.1:${port}`, credential: `a1.${'s'.repeat(43)}` });
    try {
      assert.equal(await client.lookupHistory('P-1', '2000-01-01', { budgetMs: 25 }), null);
      await assert.rejects(client.deliver([statusEvent(1, 'x', '0.1.0', 1)]), (error: HubError) => error.code === 'network' && error.retryable);
    } finally {
      client.close();
    }
  });
});
