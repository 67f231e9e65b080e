/**
 * The console's API on a real PostgreSQL: logins with slow password hashes, roles, sessions,
 * CSRF and Origin checks, review with a note, CSV/XLSX export, and the audit of every read of
 * patient-level rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import { HubClient } from '../app/core/hub-client';
import { hashPassword, patientKeyer, verifyPassword } from '../hub/security';
import { issueEnrolmentCode, startHubServer, type RunningHub } from '../hub/server';
import { HubStore } from '../hub/store/hub-store';
import { decisionEvent, statusEvent } from './hub-support';
import { skipWithoutPostgres, startCluster, type TestCluster } from './postgres';

const skip = skipWithoutPostgres();

interface Login {
  cookie: string;
  csrfToken: string;
  role: string;
}

describe('hub console API', { skip, timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let store: HubStore;
  let hub: RunningHub;

  before(async () => {
    cluster = await startCluster();
    store = await HubStore.open(await cluster.createDatabase('console'));
    hub = await startHubServer({ store, keyer: patientKeyer(Buffer.alloc(32, 3)) });
    await store.addUser('yibaoban', await hashPassword('review-password-1'), 'reviewer');
    await store.addUser('xinxike', await hashPassword('admin-password-1'), 'admin');
    const { code } = await issueEnrolmentCode(store, 'test');
    const enrolment = new HubClient({ url: hub.url });
    const { credential } = await enrolment.enrol({ code, pcName: 'PC-呼吸-07', agentVersion: '0.2.0' });
    enrolment.close();
    const agent = new HubClient({ url: hub.url, credential });
    await agent.deliver([
      decisionEvent(1, { checkId: 'c-9', patientId: 'P-7', ruleId: 'R-REPEAT-1', reason: '=患者出差, 需带药', dept: ['0402', '呼吸科'], doctor: ['D200', '李医生'] }),
      decisionEvent(2, { checkId: 'c-10', patientId: 'P-8', ruleId: 'R-IND-3', action: 'attest', reason: '已确认重度', dept: ['0402', '呼吸科'], doctor: ['D201', '赵医生'] }),
      statusEvent(3, 'PC-呼吸-07', '0.2.0', 14, ['R-REPEAT-1', 'R-IND-3', 'R-QUIET-9']),
    ]);
    agent.close();
  });

  after(async () => {
    await hub?.close();
    await store?.close();
    cluster?.stop();
  });

  async function login(username: string, password: string): Promise<Login> {
    const response = await fetch(`${hub.url}/console/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const cookie = response.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const body = (await response.json()) as { csrfToken: string; role: string };
    return { cookie: cookie.split(';')[0]!, csrfToken: body.csrfToken, role: body.role };
  }

  function get(path: string, session?: Login): Promise<Response> {
    return fetch(`${hub.url}/console/api${path}`, { headers: session ? { Cookie: session.cookie } : {} });
  }

  function post(path: string, body: unknown, session: Login, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${hub.url}/console/api${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: session.cookie, 'X-CSRF-Token': session.csrfToken, ...headers },
      body: JSON.stringify(body),
    });
  }

  test('passwords are scrypt hashes that verify only the right password', { timeout: 30_000 }, async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct horsf', hash), false);
  });

  test('login refuses a wrong password and an unknown user alike', { timeout: 30_000 }, async () => {
    for (const [username, password] of [['yibaoban', 'wrong-password'], ['nobody', 'whatever-1234']]) {
      const response = await fetch(`${hub.url}/console/api/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('set-cookie'), null);
    }
    assert.equal((await get('/decisions')).status, 401);
  });

  test('five failed logins lock the account for a while, even with the right password', { timeout: 60_000 }, async () => {
    await store.addUser('guessed', await hashPassword('right-password-1'), 'reviewer');
    const attempt = (password: string) =>
      fetch(`${hub.url}/console/api/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'guessed', password }),
      });
    for (let index = 0; index < 5; index++) assert.equal((await attempt(`wrong-${index}`)).status, 401);
    const locked = await attempt('right-password-1');
    assert.equal(locked.status, 429);
    assert.match(((await locked.json()) as { message: string }).message, /15 分钟/);
  });

  test('roles: the reviewer reads decisions, the admin runs the fleet, neither the other', { timeout: 30_000 }, async () => {
    const reviewer = await login('yibaoban', 'review-password-1');
    const admin = await login('xinxike', 'admin-password-1');
    assert.equal((await get('/decisions', reviewer)).status, 200);
    assert.equal((await get('/decisions', admin)).status, 403);
    assert.equal((await get('/fleet', reviewer)).status, 403);
    const fleet = (await (await get('/fleet', admin)).json()) as { agents: Array<{ pcName: string; agentVersion: string; rulesVersion: number }> };
    assert.deepEqual(
      fleet.agents.map((agent) => [agent.pcName, agent.agentVersion, agent.rulesVersion]),
      [['PC-呼吸-07', '0.2.0', 14]],
    );
    assert.equal((await post('/enrol-codes', {}, reviewer)).status, 403);
    const issued = (await (await post('/enrol-codes', {}, admin)).json()) as { code: string };
    assert.match(issued.code, /^[2-9A-Z]{4}(-[2-9A-Z]{4}){3}$/);
    // Rule activity holds no patient rows: both roles see it, with the rule that never fired.
    const rules = (await (await get('/rules', reviewer)).json()) as { rules: Array<{ ruleId: string; findings: number; overrides: number; attestations: number }> };
    const byId = new Map(rules.rules.map((rule) => [rule.ruleId, rule]));
    assert.deepEqual(byId.get('R-REPEAT-1'), { ...byId.get('R-REPEAT-1')!, findings: 1, overrides: 1, attestations: 0 });
    assert.equal(byId.get('R-QUIET-9')?.findings, 0);
    const ranking = (await (await get('/ranking', admin)).json()) as { doctors: Array<{ name: string; overrides: number }> };
    assert.equal(ranking.doctors[0]!.name, '李医生');
    assert.equal(ranking.doctors[0]!.overrides, 1);
  });

  test('writes need the session CSRF token and the console own origin', { timeout: 30_000 }, async () => {
    const reviewer = await login('yibaoban', 'review-password-1');
    const list = (await (await get('/decisions', reviewer)).json()) as { rows: Array<{ id: number; reason: string; kind: string }> };
    const override = list.rows.find((row) => row.kind === 'override')!;
    assert.equal(override.reason, '=患者出差, 需带药');
    assert.equal((await post(`/decisions/${override.id}/review`, { note: 'x' }, reviewer, { 'X-CSRF-Token': 'forged' })).status, 403);
    assert.equal((await post(`/decisions/${override.id}/review`, { note: 'x' }, reviewer, { Origin: 'http://evil.example' })).status, 403);
    const stale = { ...reviewer, csrfToken: (await login('yibaoban', 'review-password-1')).csrfToken };
    assert.equal((await post(`/decisions/${override.id}/review`, { note: 'x' }, stale)).status, 403, 'another session token is not this session');
    assert.equal((await post(`/decisions/${override.id}/review`, { note: '理由充分' }, reviewer)).status, 200);
    const reviewed = (await (await get('/decisions?reviewed=yes', reviewer)).json()) as { rows: Array<{ id: number; reviewedBy: string; reviewNote: string }> };
    assert.deepEqual(
      reviewed.rows.map((row) => [row.id, row.reviewedBy, row.reviewNote]),
      [[override.id, 'yibaoban', '理由充分']],
    );
    assert.equal((await post('/logout', {}, reviewer)).status, 200);
    assert.equal((await get('/decisions', reviewer)).status, 401, 'the session ends at logout');
  });

  test('CSV and XLSX exports carry the reasons, and every read is audited', { timeout: 60_000 }, async () => {
    const reviewer = await login('yibaoban', 'review-password-1');
    const csv = await get('/decisions.csv?kind=all&reviewed=', reviewer);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte-order mark, for Excel');
    const text = bytes.subarray(3).toString('utf8');
    assert.ok(text.startsWith('时间,类型,规则'));
    // A reason starting with = is written so that a spreadsheet shows it rather than runs it.
    assert.ok(text.includes(`"'=患者出差, 需带药"`), text);
    assert.ok(text.includes('已确认重度'));
    const xlsx = await get('/decisions.xlsx', reviewer);
    assert.equal(xlsx.status, 200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('复核清单')!;
    const cells = sheet.getColumn(6).values.filter((value) => typeof value === 'string');
    assert.ok(cells.includes('已确认重度'), JSON.stringify(cells));
    const audit = await store.consoleAudit(50);
    const reads = audit.filter((entry) => entry.username === 'yibaoban' && (entry.action === 'read-decisions' || entry.action === 'export-decisions'));
    assert.ok(reads.some((entry) => entry.detail.format === 'csv'));
    assert.ok(reads.some((entry) => entry.detail.format === 'xlsx'));
    assert.ok(reads.some((entry) => entry.detail.format === 'json'));
    assert.ok(audit.some((entry) => entry.action === 'login-failed' && entry.username === 'nobody'));
  });
});
