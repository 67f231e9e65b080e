/**
 * A HIS's existing national-interface client pointed at RxGate with only its base URL
 * changed. `NationalClient` is written the way public 3101 client code is written: it builds
 * the standard envelope itself, signs in with 9001 first when its style does, sends the
 * headers the platform wants (apikey, x-tif-*), never a Bearer token, writes its body in
 * its own charset, and reads `infcode` from every reply before anything else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import iconv from 'iconv-lite';
import type { Agent } from '../app/core/agent';
import { NhsaResponse } from '../app/core/protocol/nhsa';
import { main } from '../app/core/cli';
import { ConfigFile } from '../app/core/config';
import { TOKEN, startTestAgent, temporaryDir } from './support';

type Frame = Record<string, unknown>;

interface ClientStyle {
  /** `single`: one URL, infno in the body (most clients); `per-infno`: the URL ends in the infno. */
  path?: 'single' | 'per-infno';
  headers?: Record<string, string>;
  /** Lists sent as single objects where there is one element. */
  objects?: boolean;
  inputAsString?: boolean;
  numericInfno?: boolean;
  charset?: 'utf-8' | 'gbk';
  declareCharset?: boolean;
  bom?: boolean;
}

interface Reply {
  status: number;
  contentType: string;
  body: Frame;
}

class NationalClient {
  private sequence = 0;
  signNumber = '';

  constructor(
    private readonly baseUrl: string,
    private readonly style: ClientStyle = {},
  ) {}

  /** The standard envelope, as clients fill it (msgid: institution code + time + sequence). */
  envelope(infno: string, data: unknown): Frame {
    this.sequence += 1;
    const input = { data: this.style.objects ? unwrapSingles(data) : data };
    return {
      infno: this.style.numericInfno ? Number(infno) : infno,
      msgid: `H43079600001${'20261124091203'}${String(this.sequence).padStart(4, '0')}`,
      mdtrtarea_admvs: '430799',
      insuplc_admdvs: '430796',
      recer_sys_code: 'YBXT',
      dev_no: '',
      dev_safe_info: '',
      cainfo: '',
      signtype: '',
      infver: 'V1.0',
      opter_type: '1',
      opter: 'D007',
      opter_name: '李医生',
      inf_time: '2026-11-24 09:12:03',
      fixmedins_code: 'H43079600001',
      fixmedins_name: '示例医院',
      sign_no: this.signNumber,
      input: this.style.inputAsString ? JSON.stringify(input) : input,
    };
  }

  async signIn(): Promise<Reply> {
    const reply = await this.call('9001', { signIn: { opter_no: 'D007', mac: '00-16-EA-AE-3C-40', ip: '127.0.0.1' } });
    if (reply.body.infcode === 0) this.signNumber = String((reply.body.output as { signinoutb: { sign_no: string } }).signinoutb.sign_no);
    return reply;
  }

  call(infno: string, data: unknown, method = 'POST'): Promise<Reply> {
    const text = JSON.stringify(this.envelope(infno, data));
    const charset = this.style.charset ?? 'utf-8';
    const encoded = charset === 'gbk' ? iconv.encode(text, 'gbk') : Buffer.from(text, 'utf8');
    const bytes = this.style.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), encoded]) : encoded;
    const url = new URL(this.style.path === 'per-infno' ? `${this.baseUrl}/${infno}` : this.baseUrl);
    const headers: Record<string, string | number> = {
      'Content-Type': this.style.declareCharset === false ? 'application/json' : `application/json;charset=${charset === 'gbk' ? 'GBK' : 'UTF-8'}`,
      ...(method === 'POST' ? { 'Content-Length': bytes.length } : {}),
      ...this.style.headers,
    };
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, { method, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const contentType = String(response.headers['content-type'] ?? '');
          const replyCharset = /charset=([^;\s]+)/i.exec(contentType)?.[1] ?? 'utf-8';
          const body = JSON.parse(iconv.decode(Buffer.concat(chunks), replyCharset)) as Frame;
          resolve({ status: response.statusCode ?? 0, contentType, body });
        });
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(method === 'POST' ? bytes : undefined);
    });
  }
}

/** One-element arrays as bare objects, as three of the clients serialise their lists. */
function unwrapSingles(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 1 ? unwrapSingles(value[0]) : value.map(unwrapSingles);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unwrapSingles(inner)]));
  return value;
}

// ---- 3101 data as a HIS assembles it from its own tables -------------------------------------

interface OrderSpec {
  rx: string;
  code: string;
  name: string;
  begin: string;
  stop?: string | null;
  type?: string;
  cnt?: number | string | null;
  pric?: number | string | null;
  flag?: string;
  extra?: Frame;
}

function fsiOrder(spec: OrderSpec): Frame {
  const cnt = spec.cnt === undefined ? 1 : spec.cnt;
  const pric = spec.pric === undefined ? 68.5 : spec.pric;
  const order: Frame = {
    rx_id: spec.rx,
    rxno: `RX-${spec.rx}`,
    grpno: '1',
    long_drord_flag: '0',
    hilist_type: spec.type ?? '101',
    chrg_type: '11',
    drord_bhvr: '0',
    hilist_code: spec.code,
    hilist_name: spec.name,
    hilist_lv: '02',
    hosplist_code: `H-${spec.rx}`,
    hosplist_name: spec.name,
    cnt,
    pric,
    sumamt: typeof cnt === 'number' && typeof pric === 'number' ? Math.round(cnt * pric * 100) / 100 : '',
    spec_unt: '盒',
    drord_begn_date: spec.begin,
    drord_dept_codg: '0301',
    drord_dept_name: '呼吸内科',
    drord_dr_codg: 'D007',
    drord_dr_name: '李医生',
    drord_dr_profttl: '233',
    ...spec.extra,
  };
  if (spec.stop !== undefined) order.drord_stop_date = spec.stop;
  if (spec.flag !== undefined) order.curr_drord_flag = spec.flag;
  return order;
}

function fsiEncounter(id: string, options: { inpatient?: boolean; admitted: string; diagnoses: Array<[string, string]>; orders: Frame[]; medType?: string }): Frame {
  return {
    mdtrt_id: id,
    medins_id: 'H43079600001',
    medins_name: '示例医院',
    medins_admdvs: '430796',
    medins_type: 'A1',
    medins_lv: '01',
    wardarea_codg: '',
    adm_date: options.admitted,
    dscg_main_dise_codg: options.diagnoses[0]![0],
    dscg_main_dise_name: options.diagnoses[0]![1],
    dr_codg: 'D007',
    adm_dept_codg: '0301',
    adm_dept_name: '呼吸内科',
    med_mdtrt_type: options.inpatient ? '2' : '1',
    med_type: options.medType ?? (options.inpatient ? '21' : '11'),
    matn_stas: '0',
    insutype: '310',
    fsi_diagnose_dtos: options.diagnoses.map(([code, name], index) => ({
      dise_id: String(index + 1),
      inout_dise_type: '1',
      maindise_flag: index === 0 ? '1' : '0',
      dias_srt_no: String(index + 1),
      dise_codg: code,
      dise_name: name,
      dise_date: options.admitted,
    })),
    fsi_operation_dtos: [],
    fsi_order_dtos: options.orders,
  };
}

function fsiPatient(id: string, current: string, encounters: Frame[]): Frame {
  return { patn_id: id, patn_name: '张三', gend: '1', brdy: '1951-08-27', poolarea: '430796', curr_mdtrt_id: current, fsi_encounter_dtos: encounters };
}

function data3101(patients: Frame[], triggerScene = '2'): Frame {
  return { syscode: 'HIS', trig_scen: triggerScene, rule_ids: [], task_id: '', patient_dtos: patients };
}

const ZILONGJIN = 'ZA12AAZ017A001010100006';
const AMLODIPINE = 'XC08CAA053A001010100001';

/** 紫龙金片 without a lung-cancer diagnosis: IND-0001 (block) fires. */
function outpatientIndication(patientId = 'P1058158', visitId = 'V2001668'): Frame {
  return fsiPatient(patientId, visitId, [
    fsiEncounter(visitId, {
      admitted: '2026-11-24 09:00:00',
      diagnoses: [['J18.900', '肺炎']],
      orders: [fsiOrder({ rx: 'RX9001', code: ZILONGJIN, name: '紫龙金片', begin: '2026-11-24 09:10:00', stop: '2026-12-01 09:10:00', cnt: 2, flag: '1' })],
    }),
  ]);
}

function results(reply: Reply): Frame[] {
  assert.equal(reply.body.infcode, 0, `infcode ${String(reply.body.infcode)}: ${String(reply.body.err_msg)}`);
  return (reply.body.output as { result: Frame[] }).result;
}

function ruleIds(reply: Reply): string[] {
  return results(reply).map((result) => String(result.rule_id)).sort();
}

async function waitForAudit(agent: Agent, type: string, checkId: string): Promise<Frame | undefined> {
  // Decisions and feedback are written at once (urgent), so one look is enough.
  return agent.store.recentAudit(50, type).find((record) => record.checkId === checkId)?.data;
}

describe('authentication as national clients send it', { timeout: 30_000 }, () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  before(async () => {
    ({ agent, stop } = await startTestAgent({ nhsaTokenHeaders: ['apikey'] }));
  });
  after(async () => stop());

  test('token in an apikey header (no Bearer): answered', async () => {
    const client = new NationalClient(`http://127.0.0.1:${agent.port}/nhsa`, { headers: { apikey: TOKEN, 'x-tif-paasid': 'his01', 'x-tif-timestamp': '1795500723' } });
    assert.deepEqual(ruleIds(await client.call('3101', data3101([outpatientIndication()]))), ['IND-0001']);
    assert.ok(agent.status().clients.some((view) => view.transport === 'http' && view.origin === undefined));
  });

  test('a refusal to a GBK client is written in GBK', async () => {
    const client = new NationalClient(`http://127.0.0.1:${agent.port}/nhsa`, { charset: 'gbk' });
    const reply = await client.call('3101', data3101([outpatientIndication()]));
    assert.equal(reply.status, 401);
    assert.match(reply.contentType, /charset=GBK/i);
    assert.match(String(reply.body.err_msg), /缺少令牌/);
  });

  test('no token: 401 with a national envelope the client can read', async () => {
    const client = new NationalClient(`http://127.0.0.1:${agent.port}/nhsa`, { headers: { 'x-tif-paasid': 'his01' } });
    const reply = await client.call('3101', data3101([outpatientIndication()]));
    assert.equal(reply.status, 401);
    assert.equal(reply.body.infcode, -1);
    assert.match(String(reply.body.err_msg), /令牌/);
  });

  test('other refusals on /nhsa are envelopes with their status too', async () => {
    const client = new NationalClient(`http://127.0.0.1:${agent.port}/nhsa`, { headers: { apikey: TOKEN } });
    const wrongMethod = await client.call('3101', {}, 'GET');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.body.infcode, -1);
    const nowhere = await new NationalClient(`http://127.0.0.1:${agent.port}/nhsa/callService`, { headers: { apikey: TOKEN } }).call('3101', {});
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.infcode, -1);
    const unknown = await client.call('2201', {});
    assert.equal(unknown.body.output, null);
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.infcode, -1);
    assert.match(String(unknown.body.err_msg), /不支持的交易编号/);
  });
});

describe('a national client pointed at RxGate (nhsaAuth loopback)', { timeout: 60_000 }, () => {
  let agent: Agent;
  let stop: () => Promise<void>;
  let base: string;
  before(async () => {
    ({ agent, stop } = await startTestAgent({ nhsaAuth: 'loopback' }));
    base = `http://127.0.0.1:${agent.port}/nhsa`;
  });
  after(async () => stop());

  test('no auth header at all, 9001 first: signed in locally, then 3101 answered', async () => {
    const client = new NationalClient(base, { headers: { 'x-tif-paasid': 'his01', 'x-tif-nonce': 'abc' } });
    const signIn = await client.signIn();
    assert.equal(signIn.body.infcode, 0);
    assert.match(client.signNumber, /^\d{30}$/);
    assert.deepEqual(ruleIds(await client.call('3101', data3101([outpatientIndication()]))), ['IND-0001']);
    const signOut = await client.call('9002', { signOut: { sign_no: client.signNumber, opter_no: 'D007' } });
    assert.match(String((signOut.body.output as { signoutoutb: { sign_time: string } }).signoutoutb.sign_time), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  test('a browser request is refused even in loopback mode, as an envelope', async () => {
    const client = new NationalClient(base, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors' } });
    const reply = await client.call('3101', data3101([outpatientIndication()]));
    assert.equal(reply.status, 403);
    assert.equal(reply.body.infcode, -1);
  });

  test('lists as single objects', async () => {
    const client = new NationalClient(base, { objects: true, path: 'per-infno' });
    const reply = await client.call('3101', data3101([outpatientIndication()]));
    const detail = (results(reply)[0]!.judge_result_detail_dtos as Frame[])[0]!;
    assert.equal(detail.rx_id, 'RX9001');
  });

  test('two patients in one call: every result in one reply', async () => {
    const client = new NationalClient(base);
    const reply = await client.call('3101', data3101([outpatientIndication('P1', 'V1'), outpatientIndication('P2', 'V2')]));
    assert.deepEqual(results(reply).map((result) => [result.patn_id, result.mdtrt_id, result.rule_id]), [
      ['P1', 'V1', 'IND-0001'],
      ['P2', 'V2', 'IND-0001'],
    ]);
  });

  test('input as a JSON string', async () => {
    const client = new NationalClient(base, { inputAsString: true });
    assert.deepEqual(ruleIds(await client.call('3101', data3101([outpatientIndication()]))), ['IND-0001']);
  });

  test('a numeric infno', async () => {
    const client = new NationalClient(base, { numericInfno: true, path: 'per-infno' });
    assert.equal((await client.signIn()).body.infcode, 0);
    assert.deepEqual(ruleIds(await client.call('3101', data3101([outpatientIndication()]))), ['IND-0001']);
  });

  test('"" for an empty number (a diet order with a NULL quantity) does not fail the request', async () => {
    const patient = outpatientIndication();
    const encounter = (patient.fsi_encounter_dtos as Frame[])[0]!;
    (encounter.fsi_order_dtos as Frame[]).push(fsiOrder({ rx: 'DIET1', code: '001201000010000', name: '糖尿病饮食', type: '201', begin: '2026-11-24 09:10:00', cnt: '', pric: '', flag: '1' }));
    assert.deepEqual(ruleIds(await new NationalClient(base).call('3101', data3101([patient]))), ['IND-0001']);
  });

  test('.NET zh-CN dates (2026/11/24 9:10:00)', async () => {
    const patient = fsiPatient('P3', 'V3', [
      fsiEncounter('V3', {
        admitted: '2026/11/24 9:00:00',
        diagnoses: [['C34.900', '肺恶性肿瘤']],
        orders: [fsiOrder({ rx: 'RX1', code: ZILONGJIN, name: '紫龙金片', begin: '2026/11/24 9:10:00', stop: '2026/12/8 9:10:00', flag: '1' })],
      }),
    ]);
    // Lung cancer satisfies IND-0001; 14 days at an ordinary outpatient visit fires DAY-0001.
    assert.deepEqual(ruleIds(await new NationalClient(base).call('3101', data3101([patient]))), ['DAY-0001']);
  });

  test('a UTF-8 BOM', async () => {
    const client = new NationalClient(base, { bom: true });
    assert.deepEqual(ruleIds(await client.call('3101', data3101([outpatientIndication()]))), ['IND-0001']);
  });

  test('a GBK body, declared or not, is read right and answered in GBK', async () => {
    for (const declareCharset of [true, false]) {
      const client = new NationalClient(base, { charset: 'gbk', declareCharset });
      const reply = await client.call('3101', data3101([outpatientIndication()]));
      assert.match(reply.contentType, /charset=GBK/i);
      const result = results(reply)[0]!;
      assert.match(String(result.vola_cont), /紫龙金片/);
    }
  });

  test('inpatient: "today" is the order date; another encounter\'s unflagged orders are history', async () => {
    // 氨氯地平 30 days from 11-20 at an outpatient visit (no curr_drord_flag); ordered again
    // on 11-24 in a stay admitted 11-01: 26 days are left on the order date (49 from admission).
    const earlier = fsiEncounter('MZ1120', {
      admitted: '2026-11-20 08:00:00',
      diagnoses: [['I10.x00', '高血压']],
      orders: [fsiOrder({ rx: 'R778', code: AMLODIPINE, name: '氨氯地平片', begin: '2026-11-20 08:10:00', stop: '2026-12-20 08:10:00', pric: 30.2 })],
    });
    const stay = fsiEncounter('ZY1101', {
      inpatient: true,
      admitted: '2026-11-01 10:00:00',
      diagnoses: [['I10.x00', '高血压']],
      orders: [fsiOrder({ rx: 'Y1124', code: AMLODIPINE, name: '氨氯地平片', begin: '2026-11-24 08:00:00', stop: '2026-11-25 08:00:00', pric: 30.2, flag: '1' })],
    });
    const reply = await new NationalClient(base).call('3101', data3101([fsiPatient('P4', 'ZY1101', [earlier, stay])], '5'));
    const repeat = results(reply).find((result) => result.rule_id === 'REP-0001');
    assert.ok(repeat, JSON.stringify(results(reply)));
    assert.match(String(repeat.vola_cont), /还剩 26 天/);
    assert.equal(repeat.mdtrt_id, 'ZY1101');
  });

  test('orders of another encounter without curr_drord_flag are history', async () => {
    const earlier = fsiEncounter('MZ1120B', {
      admitted: '2026-11-20 08:00:00',
      diagnoses: [['I10.x00', '高血压']],
      orders: [fsiOrder({ rx: 'R779', code: AMLODIPINE, name: '氨氯地平片', begin: '2026-11-20 08:10:00', stop: '2026-12-20 08:10:00', pric: 30.2 })],
    });
    const today = fsiEncounter('MZ1124B', {
      admitted: '2026-11-24 09:00:00',
      diagnoses: [['I10.x00', '高血压']],
      orders: [fsiOrder({ rx: 'RX1124', code: AMLODIPINE, name: '氨氯地平片', begin: '2026-11-24 09:10:00', stop: '2026-11-27 09:10:00', pric: 30.2 })],
    });
    // Neither order is flagged: curr_mdtrt_id says which visit is being checked.
    const reply = await new NationalClient(base).call('3101', data3101([fsiPatient('P4B', 'MZ1124B', [earlier, today])]));
    const repeat = results(reply).find((result) => result.rule_id === 'REP-0001');
    assert.ok(repeat, JSON.stringify(results(reply)));
    assert.match(String(repeat.vola_cont), /2026-11-20/);
    assert.deepEqual((repeat.judge_result_detail_dtos as Frame[]).map((detail) => detail.rx_id), ['RX1124']);
  });

  test('inpatient: one-day orders on consecutive days of a stay are not repeats of each other', async () => {
    const days = ['2026-11-22', '2026-11-23', '2026-11-24'];
    const stay = fsiEncounter('ZY1120', {
      inpatient: true,
      admitted: '2026-11-20 10:00:00',
      diagnoses: [['I10.x00', '高血压']],
      orders: days.map((day, index) => fsiOrder({ rx: `D${index}`, code: AMLODIPINE, name: '氨氯地平片', begin: `${day} 08:00:00`, stop: `${day} 20:00:00`, pric: 30.2, flag: '1' })),
    });
    const reply = await new NationalClient(base).call('3101', data3101([fsiPatient('P5', 'ZY1120', [stay])], '5'));
    assert.deepEqual(ruleIds(reply), []);
    assert.equal(reply.body.warn_msg, null);
  });

  test('配方颗粒 (hilist_type 106) count as herbal', async () => {
    const granules = Array.from({ length: 21 }, (_, index) =>
      fsiOrder({ rx: `G${index}`, code: `T000${String(100 + index)}`, name: `颗粒${index}`, type: '106', begin: '2026-11-24 09:10:00', stop: '2026-11-30 09:10:00', flag: '1' }),
    );
    const patient = fsiPatient('P6', 'V6', [fsiEncounter('V6', { admitted: '2026-11-24 09:00:00', diagnoses: [['R51', '头痛']], orders: granules })]);
    assert.deepEqual(ruleIds(await new NationalClient(base).call('3101', data3101([patient]))), ['HRB-0001']);
  });

  test('no stop date: days from prd_days where given, otherwise a clear warn_msg', async () => {
    const patient = fsiPatient('P7', 'V7', [
      fsiEncounter('V7', {
        admitted: '2026-11-24 09:00:00',
        diagnoses: [['I10.x00', '高血压']],
        orders: [
          fsiOrder({ rx: 'A1', code: AMLODIPINE, name: '氨氯地平片', begin: '2026-11-24 09:10:00', pric: 30.2, flag: '1', extra: { prd_days: '14' } }),
          fsiOrder({ rx: 'B1', code: 'XC09CAA001A001010100001', name: '缬沙坦胶囊', begin: '2026-11-24 09:10:00', pric: 20, flag: '1' }),
        ],
      }),
    ]);
    const reply = await new NationalClient(base).call('3101', data3101([patient]));
    assert.deepEqual(ruleIds(reply), ['DAY-0001']);
    assert.match(String(reply.body.warn_msg), /医嘱 B1 缬沙坦胶囊: 没有停止日期/);
  });

  test('3103: feedback on some of the results is recorded as given', async () => {
    const client = new NationalClient(base);
    const patient = fsiPatient('P8', 'V8', [
      fsiEncounter('V8', {
        admitted: '2026-11-24 09:00:00',
        diagnoses: [['J18.900', '肺炎']],
        orders: [fsiOrder({ rx: 'RX1', code: ZILONGJIN, name: '紫龙金片', begin: '2026-11-24 09:10:00', stop: '2026-12-08 09:10:00', flag: '1' })],
      }),
    ]);
    const found = results(await client.call('3101', data3101([patient])));
    assert.deepEqual(found.map((result) => result.rule_id).sort(), ['DAY-0001', 'IND-0001']);
    const warning = found.find((result) => result.rule_id === 'DAY-0001')!;
    const feedback = await client.call('3103', { warn_type: '1', warns: [{ warn_rslt_id: warning.jr_id, dspo_way: '1', dspo_way_rea: '病情需要' }] });
    assert.equal(feedback.body.infcode, 0);
    const checkId = String(warning.jr_id).split('#')[0]!;
    const record = await waitForAudit(agent, 'decision', checkId);
    assert.equal(record?.outcome, 'proceed');
    assert.deepEqual(record?.unanswered, [String(found.find((result) => result.rule_id === 'IND-0001')!.jr_id).split('#')[1]]);
  });

  test('3103: "continue" on a sev_deg 1 result is accepted and recorded as an override for review', async () => {
    const client = new NationalClient(base, { objects: true });
    const [blocked] = results(await client.call('3101', data3101([outpatientIndication('P9', 'V9')])));
    assert.equal(blocked!.sev_deg, '1');
    const feedback = await client.call('3103', { warn_type: '1', warns: [{ warn_rslt_id: blocked!.jr_id, dspo_way: 1, dspo_way_rea: '患者坚持, 已告知自费风险' }] });
    assert.equal(feedback.body.infcode, 0);
    const record = await waitForAudit(agent, 'decision', String(blocked!.jr_id).split('#')[0]!);
    assert.equal(record?.review, true);
    assert.deepEqual((record?.overrides as Frame[]).map((entry) => entry.ruleId), ['IND-0001']);
  });

  test('the reply is what strict client classes read: jrd_id, 17-digit times, national inf_refmsgid, no extra fields', async () => {
    const reply = await new NationalClient(base).call('3101', data3101([outpatientIndication()]));
    NhsaResponse.parse(reply.body);
    assert.match(String(reply.body.refmsg_time), /^\d{17}$/);
    assert.match(String(reply.body.inf_refmsgid), /^430799\d{24}$/);
    assert.deepEqual(Object.keys(reply.body).sort(), ['cainfo', 'err_msg', 'inf_refmsgid', 'infcode', 'output', 'refmsg_time', 'respond_time', 'signtype', 'warn_msg']);
    const detail = (results(reply)[0]!.judge_result_detail_dtos as Frame[])[0]!;
    assert.match(String(detail.jrd_id), /#f1\/1$/);
  });
});

describe('RxGate\'s own reply fields when a setting asks', { timeout: 30_000 }, () => {
  test('nhsaExtraFields adds rxgate_result', async () => {
    const { agent, stop } = await startTestAgent({ nhsaAuth: 'loopback', nhsaExtraFields: true });
    try {
      const reply = await new NationalClient(`http://127.0.0.1:${agent.port}/nhsa`).call('3101', data3101([outpatientIndication()]));
      assert.equal(reply.body.rxgate_result, 'block');
      assert.equal(reply.body.rxgate_pending, false);
    } finally {
      await stop();
    }
  });
});

describe('settings', { timeout: 10_000 }, () => {
  test('--nhsa-auth takes token or loopback only', async () => {
    const dir = temporaryDir();
    try {
      assert.equal(await main(['agent', '--data-dir', dir.path, '--no-open', '--nhsa-auth', 'open']), 2);
    } finally {
      dir.remove();
    }
  });

  test('the config file accepts the national-interface keys and refuses a bad mode', () => {
    assert.deepEqual(ConfigFile.parse({ nhsaAuth: 'loopback', nhsaTokenHeaders: ['apikey'], nhsaExtraFields: true }), {
      nhsaAuth: 'loopback',
      nhsaTokenHeaders: ['apikey'],
      nhsaExtraFields: true,
    });
    assert.equal(ConfigFile.safeParse({ nhsaAuth: 'none' }).success, false);
    assert.equal(ConfigFile.safeParse({ nhsaTokenHeaders: ['api key'] }).success, false);
  });
});
