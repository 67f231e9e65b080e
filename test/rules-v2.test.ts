/**
 * Rules v2 over the real agent: v2 check fields over WebSocket and HTTP, a finding to attest,
 * the doctor's `attest` reaching the HIS as a decision line with the attested texts and the
 * audit trail, `items[].attested` honoured, and a `limit` finding through the 3101 envelope.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../app/core/agent';
import { Decision, Verdict } from '../app/core/protocol/messages';
import { example, HisClient, http, startTestAgent, temporaryDir } from './support';

type Frame = Record<string, unknown>;
const timeout = { timeout: 30_000 };

const ALBUMIN = 'XB05AAR001A001010100001';

const library = {
  version: 21,
  rules: [
    {
      id: 'V2-ALB',
      kind: 'indication',
      level: 'block',
      title: '人血白蛋白限低蛋白血症或抢救',
      drugs: ['XB05AAR001'],
      require: {
        anyOf: [
          { labs: [{ codes: ['ALB'], name: '白蛋白', op: '<', value: 30, unit: 'g/L' }] },
          { confirm: '抢救' },
        ],
      },
      basis: '限抢救、重症或低蛋白血症',
    },
    {
      id: 'V2-OP',
      kind: 'indication',
      level: 'warn',
      title: '限术后',
      drugs: ['XB01ABD001'],
      require: { procedures: { codes: ['81.51'], name: '髋关节置换术' }, prescriber: { titleMin: 'attending' } },
    },
  ],
};

function check(id: string, extra: Frame = {}): Frame {
  return {
    type: 'check',
    id,
    patient: { id: 'P9', gender: 'F', birthDate: '1950-01-01', insurance: '310', pregnancy: 'none' },
    visit: { id: 'ZY9', type: 'inpatient', medType: '21', date: '2026-11-24', dept: { code: '0501', name: '骨科' }, doctor: { code: 'D1', name: '赵医生', title: '233' } },
    diagnoses: [{ code: 'S72.000', name: '股骨颈骨折' }],
    items: [{ line: '1', code: ALBUMIN, name: '人血白蛋白', qty: 2, price: 300 }],
    ...extra,
  };
}

describe('rules v2 over WebSocket and HTTP', timeout, () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  let his: HisClient;
  const dir = temporaryDir();
  before(async () => {
    const file = join(dir.path, 'v2-rules.json');
    writeFileSync(file, JSON.stringify(library));
    ({ agent, stop } = await startTestAgent({ rulesFile: file }));
    his = await HisClient.connect(agent.port);
  });
  after(async () => {
    await his.close();
    await stop();
    dir.remove();
  });

  test('a lab the check does not carry becomes a condition to attest; the doctor attests; the HIS gets the texts', timeout, async () => {
    const verdict = Verdict.parse(await his.request(check('v2-attest'), 'verdict'));
    assert.equal(verdict.result, 'block');
    const [finding] = verdict.findings;
    assert.deepEqual(finding?.details.confirm, ['白蛋白 < 30 g/L', '抢救']);
    assert.ok(finding?.actions.includes('attest'));

    const decision = his.next((frame) => frame.type === 'decision' && frame.id === 'v2-attest');
    const reply = await agent.bridge.decide({ id: 'v2-attest', outcome: 'proceed', lines: [{ line: '1', action: 'attest' }], reasons: [] });
    assert.deepEqual(reply, { ok: true, value: null });
    const frame = Decision.parse(await decision);
    assert.deepEqual(frame.lines, [{ line: '1', action: 'attest', attested: ['白蛋白 < 30 g/L', '抢救'] }]);
    assert.deepEqual(frame.reasons, []);
    const audit = agent.store.recentAudit(20, 'decision').find((record) => record.checkId === 'v2-attest');
    assert.ok(audit, 'the decision is in the audit trail');
    assert.match(JSON.stringify(audit), /抢救/);
  });

  test('labs and procedures that are carried are evaluated; items[].attested is honoured', timeout, async () => {
    const withLab = Verdict.parse(await his.request(check('v2-lab', { labs: [{ code: 'ALB', value: 24, unit: 'g/L', date: '2026-11-23' }] }), 'verdict'));
    assert.equal(withLab.result, 'pass');
    const attested = Verdict.parse(await his.request(check('v2-his-attested', { items: [{ line: '1', code: ALBUMIN, name: '人血白蛋白', attested: ['抢救'] }] }), 'verdict'));
    assert.equal(attested.result, 'pass');
  });

  test('over HTTP: an empty procedures list is known (failed); a lower title fails; the decision carries attest', timeout, async () => {
    const order = check('v2-http', {
      items: [{ line: '1', code: 'XB01ABD001A001010100001', name: '依诺肝素', qty: 1 }],
      procedures: [],
      visit: { id: 'ZY9', type: 'inpatient', date: '2026-11-24', doctor: { code: 'D2', name: '钱医生', title: '医士' } },
    });
    const reply = await http(agent.port, '/v1/check', { body: order });
    assert.equal(reply.status, 200);
    const verdict = Verdict.parse(reply.body);
    assert.equal(verdict.result, 'warn');
    const [finding] = verdict.findings;
    assert.equal(finding?.details.confirm, undefined);
    assert.ok(!finding?.actions.includes('attest'));
    assert.match(finding?.message ?? '', /未见髋关节置换术记录/);
    assert.match(finding?.message ?? '', /限主治医师及以上处方，钱医生为医士/);

    const done = await http(agent.port, '/v1/check', {
      body: check('v2-http-2', {
        items: [{ line: '1', code: 'XB01ABD001A001010100001', name: '依诺肝素', qty: 1 }],
        procedures: [{ code: '81.5100', name: '全髋关节置换', date: '2026-11-20' }],
      }),
    });
    assert.equal(Verdict.parse(done.body).result, 'pass');
  });

  test('unknown v2 values are refused at the edge with their path', timeout, async () => {
    const reply = await his.request(check('v2-bad', { patient: { id: 'P9', pregnancy: 'maybe' } }));
    assert.equal(reply.type, 'error');
    assert.equal(reply.path, '$.patient.pregnancy');
  });
});

describe('titleCodes: a HIS that numbers titles from 士级 up', timeout, () => {
  test('with titleCodes reversed, title 5 is 主任 and 1 is 士级; by default the other way round', timeout, async () => {
    const dir = temporaryDir();
    const file = join(dir.path, 'v2-rules.json');
    writeFileSync(file, JSON.stringify(library));
    const order = (id: string, title: number) =>
      check(id, {
        items: [{ line: '1', code: 'XB01ABD001A001010100001', name: '依诺肝素', qty: 1 }],
        procedures: [{ code: '81.5100', name: '全髋关节置换', date: '2026-11-20' }],
        visit: { id: 'ZY9', type: 'inpatient', date: '2026-11-24', doctor: { code: 'D2', name: '钱医生', title } },
      });
    try {
      for (const [titleCodes, highTitle, lowTitle] of [['reversed', 5, 1], ['standard', 1, 5]] as const) {
        const { agent, stop } = await startTestAgent({ rulesFile: file, titleCodes });
        try {
          const high = Verdict.parse((await http(agent.port, '/v1/check', { body: order(`t-${titleCodes}-high`, highTitle) })).body);
          const low = Verdict.parse((await http(agent.port, '/v1/check', { body: order(`t-${titleCodes}-low`, lowTitle) })).body);
          assert.equal(high.result, 'pass', titleCodes);
          assert.equal(low.result, 'warn', titleCodes);
          assert.match(low.findings[0]?.message ?? '', /医士/);
        } finally {
          await stop();
        }
      }
    } finally {
      dir.remove();
    }
  });
});

describe('a limit finding through the 3101 envelope', timeout, () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent());
  });
  after(async () => stop());

  test('two dialysis orders on one day fire the demo library’s LIM-0001 with behaviour type 6', timeout, async () => {
    const request = example('request-3101.json');
    const data = (request.input as Frame).data as Frame;
    const encounter = (data.patient_dtos as Array<{ fsi_encounter_dtos: Frame[] }>)[0]!.fsi_encounter_dtos[0]!;
    const [order] = encounter.fsi_order_dtos as Frame[];
    const dialysis = (rxId: string): Frame => ({ ...order, rx_id: rxId, hilist_code: '311000001', hilist_name: '血液透析', hilist_type: '201', hosplist_code: rxId });
    encounter.fsi_diagnose_dtos = [{ ...(encounter.fsi_diagnose_dtos as Frame[])[0], dise_codg: 'N18.500', dise_name: '慢性肾脏病5期' }];
    encounter.fsi_order_dtos = [dialysis('RX-D1'), dialysis('RX-D2')];
    const reply = await http(agent.port, '/nhsa/3101', { body: request });
    assert.equal(reply.body?.infcode, 0);
    const results = (reply.body?.output as { result: Frame[] }).result;
    const limit = results.filter((result) => result.rule_id === 'LIM-0001');
    assert.equal(limit.length, 1, JSON.stringify(results));
    assert.equal(limit[0]!.vola_bhvr_type, '6');
    assert.deepEqual((limit[0]!.judge_result_detail_dtos as Frame[]).map((detail) => detail.rx_id), ['RX-D1', 'RX-D2']);
  });
});
