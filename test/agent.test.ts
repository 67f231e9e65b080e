/**
 * The agent end to end over its real transports: a real agent on a random loopback port,
 * real SQLite in a temp folder, the shared examples as the HIS would send them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES, HisClient, TOKEN, example, http, startTestAgent, temporaryDir } from './support';
import type { Agent } from '../app/core/agent';
import { resolveToken } from '../app/core/config';
import { Ack, Decision, Verdict } from '../app/core/protocol/messages';
import { NhsaResponse } from '../app/core/protocol/nhsa';
import { StatusReply } from '../app/core/protocol/ui';

type Frame = Record<string, unknown>;
const findingsOf = (verdict: Frame) => verdict.findings as Array<Frame & { ruleId: string; lines: string[]; level: string; findingId: string; actions: string[] }>;

/** A raw HTTP request, for headers fetch will not let a test set (Host, Origin). */
function rawRequest(port: number, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, headers: response.headers }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('checks over the WebSocket', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  let his: HisClient;
  before(async () => {
    ({ agent, stop } = await startTestAgent());
    his = await HisClient.connect(agent.port);
  });
  after(async () => {
    await his.close();
    await stop();
  });

  test('check-indication: 紫龙金片 without lung cancer is blocked by IND-0001', async () => {
    const verdict = await his.request(example('check-indication.json'), 'verdict');
    assert.equal(verdict.type, 'verdict');
    assert.equal(verdict.result, 'block');
    const [finding] = findingsOf(verdict);
    assert.equal(finding?.ruleId, 'IND-0001');
    assert.deepEqual(finding?.lines, ['1']);
    assert.ok(finding?.actions.includes('selfpay'));
    assert.ok(!finding?.actions.includes('continue'), 'a block cannot be continued');
    assert.equal(verdict.pending, true);
    assert.equal(typeof verdict.elapsedMs, 'number');
    assert.ok(agent.pending().some((view) => view.id === 'c-0001'));
  });

  test('with a lung-cancer diagnosis the same order passes', async () => {
    const message = example('check-indication.json');
    message.id = 'c-0001-ok';
    message.diagnoses = [{ code: 'C34.900', name: '肺恶性肿瘤', main: true }];
    const verdict = await his.request(message, 'verdict');
    assert.equal(verdict.result, 'pass');
    assert.deepEqual(verdict.findings, []);
    assert.equal(verdict.pending, undefined);
  });

  test('check-chronic: 二甲双胍 outside the 高血压 scope is blocked, 氨氯地平 is not', async () => {
    const verdict = await his.request(example('check-chronic.json'), 'verdict');
    assert.equal(verdict.result, 'block');
    const chronic = findingsOf(verdict).filter((finding) => finding.ruleId === 'CHR-0001');
    assert.equal(chronic.length, 1);
    assert.deepEqual(chronic[0]?.lines, ['2']);
    assert.ok(Array.isArray(verdict.chronic) && (verdict.chronic as unknown[]).length > 0, 'year-to-date figures are reported');
  });

  test('check-repeat: 氨氯地平 again with days left warns (REP-0001) and 14 days warns (DAY-0001)', async () => {
    const verdict = await his.request(example('check-repeat.json'), 'verdict');
    assert.equal(verdict.result, 'warn');
    const rules = findingsOf(verdict).map((finding) => finding.ruleId).sort();
    assert.deepEqual(rules, ['DAY-0001', 'REP-0001']);
    const repeat = findingsOf(verdict).find((finding) => finding.ruleId === 'REP-0001')!;
    const details = JSON.stringify(repeat.details);
    assert.match(details, /2026-11-20/);
    assert.match(details, /心内科/);
    assert.match(details, /王医生/);
    assert.ok(repeat.actions.includes('continue'));
  });

  test('ui "none" answers the verdict without holding a popup', async () => {
    const message = example('check-indication.json');
    message.id = 'c-none';
    message.ui = 'none';
    const verdict = await his.request(message, 'verdict');
    assert.equal(verdict.result, 'block');
    assert.equal(verdict.pending, undefined);
    assert.ok(!agent.pending().some((view) => view.id === 'c-none'));
  });

  test("the doctor's choice reaches the HIS as a decision on the same socket", async () => {
    const message = example('check-repeat.json');
    message.id = 'c-decide';
    const verdict = await his.request(message, 'verdict');
    const findings = findingsOf(verdict);
    const decision = his.next((frame) => frame.type === 'decision' && frame.id === 'c-decide');
    const reply = await agent.bridge.decide({
      id: 'c-decide',
      outcome: 'proceed',
      lines: [],
      reasons: findings.map((finding) => ({ findingId: finding.findingId, reason: '患者病情需要' })),
    });
    assert.deepEqual(reply, { ok: true, value: null });
    const frame = await decision;
    assert.equal(frame.outcome, 'proceed');
    assert.deepEqual(frame.lines, [{ line: '1', action: 'continue' }]);
    assert.equal((frame.reasons as unknown[]).length, findings.length);
    assert.match(String(frame.at), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
    assert.ok(!agent.pending().some((view) => view.id === 'c-decide'));
  });

  test('continuing a warning without a reason, or a block at all, is refused', async () => {
    const warn = example('check-repeat.json');
    warn.id = 'c-noreason';
    await his.request(warn, 'verdict');
    const missing = await agent.bridge.decide({ id: 'c-noreason', outcome: 'proceed', lines: [], reasons: [] });
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? '' : missing.error, /理由/);

    const block = example('check-indication.json');
    block.id = 'c-block';
    const verdict = await his.request(block, 'verdict');
    const finding = findingsOf(verdict)[0]!;
    const continued = await agent.bridge.decide({
      id: 'c-block',
      outcome: 'proceed',
      lines: [{ line: '1', action: 'continue' }],
      reasons: [{ findingId: finding.findingId, reason: '坚持使用' }],
    });
    assert.equal(continued.ok, false);
    const selfPay = await agent.bridge.decide({ id: 'c-block', outcome: 'proceed', lines: [{ line: '1', action: 'selfpay' }], reasons: [] });
    assert.deepEqual(selfPay, { ok: true, value: null });
    const again = await agent.bridge.decide({ id: 'c-block', outcome: 'revise', lines: [], reasons: [] });
    assert.equal(again.ok, false, 'a decided check cannot be decided twice');
  });

  test('cancel closes the pending popup', async () => {
    const message = example('check-indication.json');
    message.id = 'c-cancel';
    await his.request(message, 'verdict');
    assert.ok(agent.pending().some((view) => view.id === 'c-cancel'));
    const ack = await his.request({ type: 'cancel', id: 'c-cancel' }, 'ack');
    assert.equal(ack.closed, true);
    assert.ok(!agent.pending().some((view) => view.id === 'c-cancel'));
  });

  test('status answers with the agent and rule library versions', async () => {
    const status = await his.request({ type: 'status', id: 's-1' }, 'status');
    assert.equal(typeof status.agentVersion, 'string');
    const rules = status.rules as { version: number; source: string; ruleCount: number };
    assert.equal(rules.source, 'demo');
    assert.ok(rules.ruleCount >= 13);
    assert.ok(Array.isArray(status.clients));
  });
});

describe('bad input gets a clear error and the connection stays', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent({ maxFrameBytes: 64 * 1024 }));
  });
  after(async () => stop());

  test('invalid JSON, schema errors with the JSON path, oversized and binary frames, unknown types', async () => {
    const his = await HisClient.connect(agent.port);
    his.send('{"type": "check", ');
    const badJson = await his.next((frame) => frame.type === 'error');
    assert.equal(badJson.code, 'bad_json');

    const invalid = example('check-indication.json');
    invalid.id = 'c-invalid';
    (invalid.items as Array<Record<string, unknown>>)[0]!.qty = 'two';
    const schema = await his.request(invalid);
    assert.equal(schema.type, 'error');
    assert.equal(schema.code, 'invalid');
    assert.equal(schema.path, '$.items[0].qty');
    assert.equal(schema.id, 'c-invalid');

    const big = example('check-indication.json');
    big.id = 'c-big';
    big.padding = 'x'.repeat(100 * 1024);
    his.send(big);
    const tooLarge = await his.next((frame) => frame.code === 'too_large');
    assert.equal(tooLarge.type, 'error');

    his.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await his.next((frame) => frame.code === 'bad_frame')).type, 'error');

    const unknown = await his.request({ type: 'order', id: 'x-1' });
    assert.equal(unknown.code, 'unknown_type');

    const missingId = await his.request({ type: 'cancel', id: 'never-sent' });
    assert.equal(missingId.code, 'unknown_check');

    // Still usable afterwards.
    const status = await his.request({ type: 'status', id: 's-after' }, 'status');
    assert.equal(status.type, 'status');
    await his.close();
  });

  test('a client that keeps sending garbage is dropped', async () => {
    const his = await HisClient.connect(agent.port);
    const closed = new Promise<number>((resolve) => his.socket.once('close', (code) => resolve(code)));
    for (let index = 0; index < 30; index += 1) his.send('not json');
    assert.equal(await closed, 1008);
  });

  test('an empty rule library answers unchecked with a reason, never a silent pass', async () => {
    const dir = temporaryDir();
    const file = join(dir.path, 'empty.json');
    writeFileSync(file, JSON.stringify({ version: 5, rules: [] }));
    const { agent: empty, stop: stopEmpty } = await startTestAgent({ rulesFile: file });
    try {
      const his = await HisClient.connect(empty.port);
      const verdict = await his.request(example('check-indication.json'), 'verdict');
      assert.equal(verdict.result, 'unchecked');
      assert.ok(typeof verdict.reason === 'string' && verdict.reason.length > 0);
      await his.close();
    } finally {
      await stopEmpty();
      dir.remove();
    }
  });
});

describe('who may connect', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  const allowed = 'http://his.hospital.local:8080';
  before(async () => {
    ({ agent, stop } = await startTestAgent({ allowOrigins: [allowed] }));
  });
  after(async () => stop());

  test('native clients need the right token', async () => {
    await assert.rejects(HisClient.connect(agent.port, { token: null }), (error: { status?: number }) => error.status === 401);
    await assert.rejects(HisClient.connect(agent.port, { token: 'wrong-token-wrong-token' }), (error: { status?: number }) => error.status === 401);
    const his = await HisClient.connect(agent.port);
    await his.close();
  });

  test('browser clients need an allowed Origin', async () => {
    await assert.rejects(
      HisClient.connect(agent.port, { token: null, origin: 'http://evil.example' }),
      (error: { status?: number; body?: string }) => error.status === 403 && /evil\.example/.test(error.body ?? ''),
    );
    const his = await HisClient.connect(agent.port, { token: null, origin: allowed });
    const status = await his.request({ type: 'status', id: 's' }, 'status');
    assert.equal(status.type, 'status');
    await his.close();
  });

  test('the UI channel does not accept the HIS token', async () => {
    await assert.rejects(HisClient.connect(agent.port, { path: '/v1/ui' }), (error: { status?: number }) => error.status === 401);
    const ui = await HisClient.connect(agent.port, { path: '/v1/ui', token: agent.uiToken });
    const first = await ui.next((frame) => frame.type === 'ui.pending');
    assert.ok(Array.isArray(first.added));
    assert.equal(first.reset, true);
    await ui.close();
  });

  test('HTTP: token, Origin and Host are all checked', async () => {
    assert.equal((await http(agent.port, '/v1/status', { token: null })).status, 401);
    assert.equal((await http(agent.port, '/v1/status', { token: 'nope-nope-nope-nope' })).status, 401);
    assert.equal((await http(agent.port, '/v1/status')).status, 200);
    const rebinding = await rawRequest(agent.port, '/v1/status', { Host: 'attacker.example:17380', Authorization: `Bearer ${TOKEN}` });
    assert.equal(rebinding.status, 403);
    const evil = await rawRequest(agent.port, '/v1/status', { Host: `127.0.0.1:${agent.port}`, Origin: 'http://evil.example' });
    assert.equal(evil.status, 403);
    const browser = await rawRequest(agent.port, '/v1/status', { Host: `localhost:${agent.port}`, Origin: allowed });
    assert.equal(browser.status, 200);
    assert.equal(browser.headers['access-control-allow-origin'], allowed);
    const preflight = await rawRequest(agent.port, '/v1/check', { Host: `127.0.0.1:${agent.port}`, Origin: allowed, 'Access-Control-Request-Method': 'POST' }, 'OPTIONS');
    assert.equal(preflight.status, 204);
  });

  test('a WebSocket upgrade with a foreign Host is refused', async () => {
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(agent.port, '127.0.0.1', () => {
        socket.write(
          `GET /v1?token=${TOKEN} HTTP/1.1\r\nHost: rebind.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(response, /^HTTP\/1\.1 403/);
  });
});

describe('HTTP endpoints', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent());
  });
  after(async () => stop());

  test('check, long-poll the decision, commit', async () => {
    const message = example('check-repeat.json');
    message.id = 'h-1';
    const check = await http(agent.port, '/v1/check', { body: message });
    assert.equal(check.status, 200);
    assert.equal(check.body?.result, 'warn');
    const findings = findingsOf(check.body!);

    const early = await http(agent.port, '/v1/decisions/h-1?wait=0');
    assert.equal(early.status, 204, 'no decision yet');

    const poll = http(agent.port, '/v1/decisions/h-1?wait=10');
    await new Promise((resolve) => setTimeout(resolve, 50));
    agent.checks.decide({ id: 'h-1', outcome: 'proceed', lines: [], reasons: findings.map((f) => ({ findingId: f.findingId, reason: '已核实' })) });
    const decided = await poll;
    assert.equal(decided.status, 200);
    assert.equal(decided.body?.type, 'decision');
    assert.equal(decided.body?.outcome, 'proceed');

    const again = await http(agent.port, '/v1/decisions/h-1?wait=5');
    assert.equal(again.body?.outcome, 'proceed', 'a decision stays available to later polls');

    const commit = await http(agent.port, '/v1/commit', { body: { id: 'h-1' } });
    assert.equal(commit.status, 200);
    assert.equal(commit.body?.recorded, 1);
  });

  test('cancel answers long-pollers with 410', async () => {
    const message = example('check-indication.json');
    message.id = 'h-cancel';
    await http(agent.port, '/v1/check', { body: message });
    const poll = http(agent.port, '/v1/decisions/h-cancel?wait=10');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await http(agent.port, '/v1/cancel', { body: { id: 'h-cancel' } })).status, 200);
    assert.equal((await poll).status, 410);
  });

  test('errors: bad JSON, schema, too large, unknown path, wrong method', async () => {
    const badJson = await http(agent.port, '/v1/check', { body: '{nope' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body?.code, 'bad_json');
    const invalid = await http(agent.port, '/v1/check', { body: { id: 'x', patient: {}, visit: {}, items: [] } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body?.code, 'invalid');
    assert.match(String(invalid.body?.path), /^\$\./);
    const big = await http(agent.port, '/v1/check', { body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }) });
    assert.equal(big.status, 413);
    assert.equal((await http(agent.port, '/v1/nothing')).status, 404);
    assert.equal((await http(agent.port, '/v1/check')).status, 405);
    assert.equal((await http(agent.port, '/v1/decisions/unknown-id')).status, 404);
  });
});

describe('national 3101 / 3103 shapes', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent());
  });
  after(async () => stop());

  test('3101 over HTTP: IND-0001 fires on RX9001 in the standard envelope', async () => {
    const reply = await http(agent.port, '/nhsa/3101', { body: example('request-3101.json') });
    assert.equal(reply.status, 200);
    assert.equal(reply.body?.infcode, 0);
    const results = (reply.body?.output as { result: Array<Record<string, unknown>> }).result;
    assert.equal(results.length, 1);
    const result = results[0]!;
    assert.equal(result.rule_id, 'IND-0001');
    assert.equal(result.patn_id, 'P1058158');
    assert.equal(result.mdtrt_id, 'V2001668');
    assert.equal(result.sev_deg, '1');
    assert.equal(result.vola_amt, 137);
    assert.equal(result.task_id, 't-0001');
    assert.ok(String(result.vola_evid).length > 0);
    const detail = (result.judge_result_detail_dtos as Array<Record<string, unknown>>)[0]!;
    assert.equal(detail.rx_id, 'RX9001');
    assert.equal(detail.vola_item_type, '1');
  });

  test('3101 over the WebSocket, then 3103 feedback recorded as the decision', async () => {
    const his = await HisClient.connect(agent.port);
    // Lung cancer makes IND-0001 pass; a 14-day order makes DAY-0001 (warn) fire.
    const request = example('request-3101.json');
    request.msgid = 'MSG-WARN-1';
    const encounter = ((request.input as Frame).data as Frame).patient_dtos as Array<{ fsi_encounter_dtos: Array<Frame> }>;
    const visit = encounter[0]!.fsi_encounter_dtos[0]!;
    (visit.fsi_diagnose_dtos as Array<Frame>)[0]!.dise_codg = 'C34.900';
    (visit.fsi_order_dtos as Array<Frame>)[0]!.drord_stop_date = '2026-12-08 09:10:00';
    const replyPromise = his.next((frame) => frame.infcode !== undefined);
    his.send(request);
    const reply = await replyPromise;
    assert.equal(reply.infcode, 0);
    const results = (reply.output as { result: Array<Record<string, unknown>> }).result;
    assert.deepEqual(results.map((r) => r.rule_id), ['DAY-0001']);
    const jrId = String(results[0]!.jr_id);

    const missingReason = await http(agent.port, '/nhsa/3103', {
      body: { infno: '3103', msgid: 'F-1', input: { data: { warn_type: '1', warns: [{ warn_rslt_id: jrId, dspo_way: '1' }] } } },
    });
    assert.equal(missingReason.body?.infcode, -1);
    assert.match(String(missingReason.body?.err_msg), /dspo_way_rea/);

    const decision = his.next((frame) => frame.type === 'decision' && frame.id === 'MSG-WARN-1');
    const feedback = await http(agent.port, '/nhsa/3103', {
      body: { infno: '3103', msgid: 'F-2', input: { data: { warn_type: '1', warns: [{ warn_rslt_id: jrId, dspo_way: '1', dspo_way_rea: '长期用药, 病情稳定' }] } } },
    });
    assert.equal(feedback.body?.infcode, 0);
    const frame = await decision;
    assert.equal(frame.outcome, 'proceed');
    assert.equal(frame.source, 'nhsa-3103');
    assert.deepEqual(frame.reasons, [{ findingId: jrId.split('#')[1], reason: '长期用药, 病情稳定' }]);
    const audit = agent.store.recentAudit(10, 'decision');
    assert.ok(audit.some((record) => record.checkId === 'MSG-WARN-1'));
    await his.close();
  });

  test('3103 continuing past a block is recorded as an override; unknown jr_id is an error', async () => {
    const request = example('request-3101.json');
    request.msgid = 'MSG-BLOCK-1';
    const reply = await http(agent.port, '/nhsa/3101', { body: request });
    const jrId = String(((reply.body?.output as { result: Array<Frame> }).result[0]!).jr_id);
    const overridden = await http(agent.port, '/nhsa/3103', {
      body: { infno: '3103', input: { data: { warns: [{ warn_rslt_id: jrId, dspo_way: '1', dspo_way_rea: '坚持' }] } } },
    });
    assert.equal(overridden.body?.infcode, 0);
    const record = agent.store.recentAudit(10, 'decision').find((entry) => entry.checkId === 'MSG-BLOCK-1');
    assert.equal(record?.data.review, true);
    assert.deepEqual(record?.data.overrides, [{ findingId: jrId.split('#')[1], ruleId: 'IND-0001', reason: '坚持' }]);
    // A second report on the same check is kept beside the decision, not refused.
    const revise = await http(agent.port, '/nhsa/3103', {
      body: { infno: '3103', input: { data: { warns: [{ warn_rslt_id: jrId, dspo_way: '2' }] } } },
    });
    assert.equal(revise.body?.infcode, 0);
    assert.ok(agent.store.recentAudit(10, 'feedback').some((entry) => entry.checkId === 'MSG-BLOCK-1' && entry.data.outcome === 'revise'));
    const unknown = await http(agent.port, '/nhsa/3103', {
      body: { infno: '3103', input: { data: { warns: [{ warn_rslt_id: 'nope#f1', dspo_way: '2' }] } } },
    });
    assert.equal(unknown.body?.infcode, -1);
  });

  test('a malformed 3101 gets infcode -1 with the path', async () => {
    const request = example('request-3101.json');
    delete ((request.input as Frame).data as Frame).patient_dtos;
    const reply = await http(agent.port, '/nhsa/3101', { body: request });
    assert.equal(reply.status, 200);
    assert.equal(reply.body?.infcode, -1);
    assert.match(String(reply.body?.err_msg), /patient_dtos/);
  });
});

describe('ledger and restart', () => {
  test('a committed order makes a later check a repeat, also after a restart', async () => {
    const dir = temporaryDir();
    try {
      const first = await startTestAgent({ dataDir: dir.path });
      const his = await HisClient.connect(first.agent.port);
      const order = example('check-repeat.json');
      order.id = 'L-1';
      order.ui = 'none';
      order.visit = { ...(order.visit as Frame), date: '2026-11-01' };
      (order.items as Array<Frame>)[0]!.days = 30;
      order.history = [];
      const verdict = await his.request(order, 'verdict');
      assert.ok(!findingsOf(verdict).some((finding) => finding.ruleId === 'REP-0001'));
      const ack = await his.request({ type: 'commit', id: 'L-1' }, 'ack');
      assert.equal(ack.recorded, 1);

      const later = example('check-repeat.json');
      later.id = 'L-2';
      later.history = [];
      const repeat = await his.request(later, 'verdict');
      const finding = findingsOf(repeat).find((candidate) => candidate.ruleId === 'REP-0001');
      assert.ok(finding, 'the ledger supplies the earlier prescription');
      assert.match(JSON.stringify(finding.details), /2026-11-01/);
      await his.close();
      await first.stop();

      const second = await startTestAgent({ dataDir: dir.path });
      try {
        const client = await HisClient.connect(second.agent.port);
        const again = example('check-repeat.json');
        again.id = 'L-3';
        again.history = [];
        const afterRestart = await client.request(again, 'verdict');
        assert.ok(findingsOf(afterRestart).some((candidate) => candidate.ruleId === 'REP-0001'));
        assert.equal(second.agent.store.verifyAudit().ok, true);
        await client.close();
      } finally {
        await second.stop();
      }
    } finally {
      dir.remove();
    }
  });

  test('the per-install token survives restarts', async () => {
    const dir = temporaryDir();
    try {
      const token = resolveToken(dir.path, undefined);
      assert.ok(token.length >= 16);
      assert.equal(resolveToken(dir.path, undefined), token);
      assert.equal(resolveToken(dir.path, 'configured-token-1234'), 'configured-token-1234');
    } finally {
      dir.remove();
    }
  });
});

describe('heartbeat', () => {
  test('a client that stops answering pings is dropped', async () => {
    const { agent, stop } = await startTestAgent({ heartbeatMs: 100 });
    try {
      // A raw socket completes the handshake and then never answers a ping.
      const closed = await new Promise<boolean>((resolve, reject) => {
        const socket = connect(agent.port, '127.0.0.1', () => {
          socket.write(
            `GET /v1?token=${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:${agent.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          );
        });
        // Reading keeps the stream flowing, so the server's hang-up surfaces as 'close'.
        socket.on('data', () => undefined);
        socket.on('close', () => resolve(true));
        socket.on('error', reject);
        setTimeout(() => resolve(false), 5000).unref();
      });
      assert.equal(closed, true);
    } finally {
      await stop();
    }
  });
});

describe('edge cases an integrator will meet', () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent({ maxFrameBytes: 64 * 1024 }));
  });
  after(async () => stop());

  test('a re-check under the same id that now passes closes the old popup', async () => {
    const his = await HisClient.connect(agent.port);
    const blocked = example('check-indication.json');
    blocked.id = 'r-1';
    await his.request(blocked, 'verdict');
    assert.ok(agent.pending().some((view) => view.id === 'r-1'));
    const fixed = example('check-indication.json');
    fixed.id = 'r-1';
    fixed.diagnoses = [{ code: 'C34.900', main: true }];
    assert.equal((await his.request(fixed, 'verdict')).result, 'pass');
    assert.ok(!agent.pending().some((view) => view.id === 'r-1'));
    await his.close();
  });

  test('a commit without a decision answers waiting long-polls with 409 committed', async () => {
    const message = example('check-indication.json');
    message.id = 'r-commit';
    await http(agent.port, '/v1/check', { body: message });
    const poll = http(agent.port, '/v1/decisions/r-commit?wait=10');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await http(agent.port, '/v1/commit', { body: { id: 'r-commit' } })).status, 200);
    const answer = await poll;
    assert.equal(answer.status, 409);
    assert.equal(answer.body?.code, 'committed');
  });

  test('business errors do not count as misbehaving: the connection stays', async () => {
    const his = await HisClient.connect(agent.port);
    for (let index = 0; index < 30; index += 1) {
      const reply = await his.request({ type: 'commit', id: `gone-${index}` });
      assert.equal(reply.code, 'unknown_check');
    }
    assert.equal((await his.request({ type: 'status', id: 'still-here' }, 'status')).type, 'status');
    await his.close();
  });

  test('an oversized 3101 body is answered in the national envelope', async () => {
    const request = example('request-3101.json');
    request.padding = 'x'.repeat(100 * 1024);
    const reply = await http(agent.port, '/nhsa/3101', { body: request });
    assert.equal(reply.status, 413);
    assert.equal(reply.body?.infcode, -1);
    assert.match(String(reply.body?.err_msg), /过大/);
  });

  test('3101: the ordering department and doctor come from the orders', async () => {
    const reply = await http(agent.port, '/nhsa/3101', { body: { ...example('request-3101.json'), msgid: 'MSG-DOCTOR' } });
    assert.equal(reply.body?.infcode, 0);
    // Check audits are written in a batch shortly after the verdict: write it now.
    agent.writer.flush();
    const record = agent.store.recentAudit(20, 'check').find((entry) => entry.checkId === 'MSG-DOCTOR');
    assert.equal(record?.data.doctor, 'D007');
    assert.equal(record?.data.dept, '0301');
  });
});

describe('a library expired past the hard limit', () => {
  test('checks answer unchecked with the reason, and 3101 answers infcode -1', async () => {
    const dir = temporaryDir();
    const file = join(dir.path, 'old.json');
    const rules = JSON.parse(readFileSync(join(EXAMPLES, 'rules.json'), 'utf8')) as { rules: unknown[] };
    writeFileSync(file, JSON.stringify({ version: 3, expiresAt: '2026-01-01T00:00:00Z', rules: rules.rules }));
    const { agent, stop } = await startTestAgent({ rulesFile: file, now: () => new Date('2026-11-24T09:00:00+08:00') });
    try {
      assert.equal(agent.rulesStatus()?.expired, true);
      const verdict = await http(agent.port, '/v1/check', { body: example('check-indication.json') });
      assert.equal(verdict.body?.result, 'unchecked');
      assert.match(String(verdict.body?.reason), /过期/);
      const national = await http(agent.port, '/nhsa/3101', { body: example('request-3101.json') });
      assert.equal(national.body?.infcode, -1);
      assert.match(String(national.body?.err_msg), /未检查: .*过期/);
    } finally {
      await stop();
      dir.remove();
    }
  });

  test('within the hard limit it still checks', async () => {
    const dir = temporaryDir();
    const file = join(dir.path, 'recent.json');
    const rules = JSON.parse(readFileSync(join(EXAMPLES, 'rules.json'), 'utf8')) as { rules: unknown[] };
    writeFileSync(file, JSON.stringify({ version: 3, expiresAt: '2026-11-20T00:00:00Z', rules: rules.rules }));
    const { agent, stop } = await startTestAgent({ rulesFile: file, now: () => new Date('2026-11-24T09:00:00+08:00') });
    try {
      const verdict = await http(agent.port, '/v1/check', { body: example('check-indication.json') });
      assert.equal(verdict.body?.result, 'block');
    } finally {
      await stop();
      dir.remove();
    }
  });
});

describe('replies match their published schemas', () => {
  test('verdict, ack, status and the 3101 envelope parse with the schemas docs/schemas is generated from', async () => {
    const { agent, stop } = await startTestAgent();
    try {
      const his = await HisClient.connect(agent.port);
      const verdict = await his.request({ ...example('check-repeat.json'), id: 'schema-1' }, 'verdict');
      Verdict.parse(verdict);
      const findings = findingsOf(verdict);
      const decision = his.next((frame) => frame.type === 'decision');
      agent.checks.decide({ id: 'schema-1', outcome: 'proceed', lines: [], reasons: findings.map((f) => ({ findingId: f.findingId, reason: '已核实' })) });
      Decision.parse(await decision);
      Ack.parse(await his.request({ type: 'commit', id: 'schema-1' }, 'ack'));
      StatusReply.parse(await his.request({ type: 'status', id: 'schema-s' }, 'status'));
      StatusReply.parse((await http(agent.port, '/v1/status')).body);
      NhsaResponse.parse((await http(agent.port, '/nhsa/3101', { body: example('request-3101.json') })).body);
      NhsaResponse.parse((await http(agent.port, '/nhsa/3101', { body: { infno: '3101' } })).body);
      await his.close();
    } finally {
      await stop();
    }
  });
});
