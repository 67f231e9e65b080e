import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Check, type Verdict } from './messages';
import { Nhsa3101, Nhsa3103, NhsaResponse, checksFromNhsa, nationalMessageId, nhsaResponse, nhsaSignIn, nhsaTime, parseNhsaDate } from './nhsa';

type Frame = Record<string, unknown>;

function order(overrides: Frame = {}): Frame {
  return {
    rx_id: 'RX1',
    hilist_type: '101',
    hilist_code: 'XC08CAA053A001010100001',
    hilist_name: '氨氯地平片',
    cnt: 1,
    pric: 30.2,
    sumamt: 30.2,
    spec_unt: '盒',
    drord_begn_date: '2026-11-24 09:10:00',
    drord_stop_date: '2026-12-08 09:10:00',
    curr_drord_flag: '1',
    ...overrides,
  };
}

function encounter(overrides: Frame = {}): Frame {
  return {
    mdtrt_id: 'V1',
    adm_date: '2026-11-24 09:00:00',
    med_mdtrt_type: '1',
    med_type: '11',
    insutype: '310',
    fsi_diagnose_dtos: [{ dise_codg: 'I10.x00', dise_name: '高血压', maindise_flag: '1' }],
    fsi_order_dtos: [order()],
    ...overrides,
  };
}

function request(patients: unknown, overrides: Frame = {}): Frame {
  return { infno: '3101', msgid: 'M1', input: { data: { trig_scen: '2', patient_dtos: patients } }, ...overrides };
}

function patient(overrides: Frame = {}): Frame {
  return { patn_id: 'P1', patn_name: '张三', gend: '1', brdy: '1951-08-27', curr_mdtrt_id: 'V1', fsi_encounter_dtos: [encounter()], ...overrides };
}

function mapped(message: Frame) {
  const parsed = Nhsa3101.parse(message);
  const result = checksFromNhsa(parsed, 'fallback', 'none');
  return { ...result, checks: result.checks.map((entry) => Check.parse(entry.check)) };
}

describe('reading dates as national clients write them', { timeout: 5000 }, () => {
  test('the three documented forms and the compact one', () => {
    assert.deepEqual(parseNhsaDate('2026-11-24 09:10:00'), { date: '2026-11-24', minutes: 550 });
    assert.deepEqual(parseNhsaDate('2026/11/4 9:10:00'), { date: '2026-11-04', minutes: 550 });
    assert.deepEqual(parseNhsaDate('2026-11-24'), { date: '2026-11-24' });
    assert.deepEqual(parseNhsaDate('20261124091000'), { date: '2026-11-24', minutes: 550 });
    assert.deepEqual(parseNhsaDate('2026-11-24T09:10:00.000+08:00'), { date: '2026-11-24', minutes: 550 });
  });

  test('not a calendar date is no date', () => {
    assert.equal(parseNhsaDate('2026-02-30'), undefined);
    assert.equal(parseNhsaDate('24/11/2026'), undefined);
    assert.equal(parseNhsaDate(''), undefined);
  });
});

describe('tolerant 3101 reading', { timeout: 5000 }, () => {
  test('single objects where the definition has arrays read as one-element lists', () => {
    const single = request(patient({ fsi_encounter_dtos: encounter({ fsi_order_dtos: order(), fsi_diagnose_dtos: { dise_codg: 'I10.x00' } }) }));
    const { checks } = mapped(single);
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.items.length, 1);
    assert.equal(checks[0]!.diagnoses[0]!.code, 'I10.X00');
  });

  test('input as a JSON string, numeric infno, "" and null for empty numbers', () => {
    const message = request([patient({ fsi_encounter_dtos: [encounter({ fsi_order_dtos: [order({ cnt: '', pric: null, sumamt: '12.5' })] })] })]);
    const text = { ...message, infno: 3101, input: JSON.stringify(message.input) };
    const { checks } = mapped(text);
    assert.equal(checks[0]!.items[0]!.qty, undefined);
    assert.equal(checks[0]!.items[0]!.price, undefined);
    assert.equal(checks[0]!.items[0]!.amount, 12.5);
  });

  test('a number that is not one is still refused, with its path', () => {
    const result = Nhsa3101.safeParse(request([patient({ fsi_encounter_dtos: [encounter({ fsi_order_dtos: [order({ cnt: 'two' })] })] })]));
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues[0]!.path.slice(-1), ['cnt']);
  });

  test('.NET dates: the visit is dated by the order', () => {
    const message = request([patient({ fsi_encounter_dtos: [encounter({ adm_date: '2026/11/24 9:00:00', fsi_order_dtos: [order({ drord_begn_date: '2026/11/24 9:10:00', drord_stop_date: '2026/12/1 9:10:00' })] })] })]);
    const { checks } = mapped(message);
    assert.equal(checks[0]!.visit.date, '2026-11-24');
    assert.equal(checks[0]!.items[0]!.days, 7);
  });

  test('3103: warns as one object, dspo_way as a number', () => {
    const feedback = Nhsa3103.parse({ infno: 3103, input: { data: { warn_type: '1', warns: { warn_rslt_id: 'M1#f1', dspo_way: 1, dspo_way_rea: '病情需要' } } } });
    assert.equal(feedback.input.data.warns.length, 1);
    assert.equal(feedback.input.data.warns[0]!.dspo_way, '1');
  });
});

describe('3101 onto checks', { timeout: 5000 }, () => {
  test('two patients: one check each, ids suffixed', () => {
    const { checks } = mapped(request([patient(), patient({ patn_id: 'P2', curr_mdtrt_id: 'V2', fsi_encounter_dtos: [encounter({ mdtrt_id: 'V2' })] })]));
    assert.deepEqual(checks.map((check) => [check.id, check.patient.id, check.visit.id]), [['M1-1', 'P1', 'V1'], ['M1-2', 'P2', 'V2']]);
  });

  test('orders of another encounter, unflagged, are history', () => {
    const earlier = encounter({ mdtrt_id: 'V0', adm_date: '2026-11-20 08:00:00', fsi_order_dtos: [order({ rx_id: 'R778', curr_drord_flag: undefined, drord_begn_date: '2026-11-20 08:10:00', drord_stop_date: '2026-12-20 08:10:00' })] });
    const { checks } = mapped(request([patient({ fsi_encounter_dtos: [earlier, encounter({ fsi_order_dtos: [order({ curr_drord_flag: undefined })] })] })]));
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.visit.id, 'V1');
    assert.deepEqual(checks[0]!.history.map((entry) => [entry.rxId, entry.date, entry.days]), [['R778', '2026-11-20', 30]]);
  });

  test('an inpatient stay is checked per order day, on that day, earlier days as history', () => {
    const stay = encounter({
      med_mdtrt_type: '2',
      med_type: '21',
      adm_date: '2026-11-01 10:00:00',
      fsi_order_dtos: ['22', '23', '24'].map((day) => order({ rx_id: `D${day}`, drord_begn_date: `2026-11-${day} 08:00:00`, drord_stop_date: `2026-11-${day} 20:00:00` })),
    });
    const { checks } = mapped(request([patient({ fsi_encounter_dtos: [stay] })]));
    assert.deepEqual(checks.map((check) => [check.visit.date, check.items.map((item) => item.line), check.items[0]!.days]), [
      ['2026-11-22', ['D22'], 1],
      ['2026-11-23', ['D23'], 1],
      ['2026-11-24', ['D24'], 1],
    ]);
    assert.deepEqual(checks[2]!.history.map((entry) => entry.rxId), ['D22', 'D23']);
  });

  test('no current order anywhere is an error, not an empty result; one patient without is a note', () => {
    const onlyHistory = request([patient({ fsi_encounter_dtos: [encounter({ fsi_order_dtos: [order({ curr_drord_flag: '0' })] })] })]);
    assert.throws(() => mapped(onlyHistory), /没有要检查的当前医嘱/);
    const second = patient({ patn_id: 'P2', curr_mdtrt_id: 'V2', fsi_encounter_dtos: [encounter({ mdtrt_id: 'V2', fsi_order_dtos: [order({ curr_drord_flag: '0' })] })] });
    const { checks, notes } = mapped(request([patient(), second]));
    assert.equal(checks.length, 1);
    assert.match(notes.join(), /患者 P2: 没有当前医嘱/);
  });

  test('an empty diagnosis row is dropped; a negative quantity (a return) is noted, not checked', () => {
    const orders = [order(), order({ rx_id: 'R-', cnt: -1, sumamt: '-30.2' })];
    const diagnoses = [{ dise_codg: 'I10.x00', maindise_flag: '1' }, { dise_codg: '', dise_name: '' }];
    const { checks, notes } = mapped(request([patient({ fsi_encounter_dtos: [encounter({ fsi_order_dtos: orders, fsi_diagnose_dtos: diagnoses })] })]));
    assert.deepEqual(checks[0]!.items.map((item) => item.line), ['RX1']);
    assert.equal(checks[0]!.diagnoses.length, 1);
    assert.match(notes.join(), /1 条数量或金额为负的医嘱/);
  });

  test('配方颗粒 (106) are granules, which the herbal rules count with 饮片; 201 services, 301 materials', () => {
    const orders = [order({ hilist_type: '106' }), order({ rx_id: 'RX2', hilist_type: '201' }), order({ rx_id: 'RX3', hilist_type: '301' }), order({ rx_id: 'RX4', hilist_type: '102' })];
    const { checks } = mapped(request([patient({ fsi_encounter_dtos: [encounter({ fsi_order_dtos: orders })] })]));
    assert.deepEqual(checks[0]!.items.map((item) => item.category), ['granule', 'service', 'material', 'herbal']);
  });

  test('rules v2 fields: operations, 孕产状态, the ordering doctor\'s title, 限制使用标志, visits of earlier orders', () => {
    const current = encounter({
      matn_stas: '1',
      fsi_operation_dtos: [{ oprn_code: '79.3501', oprn_name: '股骨切开复位内固定术', oprn_date: '2026-11-22 10:00:00' }, { oprn_code: '' }],
      fsi_order_dtos: [order({ drord_dr_codg: 'D1', drord_dr_name: '赵医生', drord_dr_profttl: '233', lmt_used_flag: '1' })],
    });
    const earlier = encounter({ mdtrt_id: 'V0', fsi_order_dtos: [order({ rx_id: 'OLD', drord_begn_date: '2026-10-01', curr_drord_flag: '0' })] });
    const { checks } = mapped(request([patient({ fsi_encounter_dtos: [earlier, current] })]));
    const check = checks[0]!;
    assert.deepEqual(check.procedures, [{ code: '79.3501', name: '股骨切开复位内固定术', date: '2026-11-22' }]);
    assert.equal(check.patient.pregnancy, 'pregnant');
    assert.equal(check.visit.doctor?.title, '233');
    assert.equal(check.items[0]!.attested, true);
    assert.equal(check.history.find((entry) => entry.rxId === 'OLD')?.visitId, 'V0');
    // Not sent is not known: no procedures (to attest), no pregnancy status, no title.
    const plain = mapped(request([patient()])).checks[0]!;
    assert.equal(plain.procedures, undefined);
    assert.equal(plain.patient.pregnancy, undefined);
    assert.equal(plain.items[0]!.attested, undefined);
    assert.equal(mapped(request([patient({ fsi_encounter_dtos: [encounter({ matn_stas: '0', fsi_operation_dtos: [] })] })])).checks[0]!.patient.pregnancy, 'none');
    assert.deepEqual(mapped(request([patient({ fsi_encounter_dtos: [encounter({ fsi_operation_dtos: [] })] })])).checks[0]!.procedures, []);
  });

  test('days from prd_days or the usage; otherwise a note, never silence', () => {
    const orders = [
      order({ rx_id: 'A', drord_stop_date: '', prd_days: '14' }),
      order({ rx_id: 'B', drord_stop_date: null, cnt: 42, spec_unt: '片', sin_dos: 1, sin_dos_unt: '片', used_frqu_dscr: 'tid' }),
      order({ rx_id: 'C', drord_stop_date: undefined }),
      order({ rx_id: 'D', drord_stop_date: '9999-12-31 00:00:00' }),
    ];
    const { checks, notes } = mapped(request([patient({ fsi_encounter_dtos: [encounter({ fsi_order_dtos: orders })] })]));
    assert.deepEqual(checks[0]!.items.map((item) => item.days), [14, 14, undefined, undefined]);
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /医嘱 C .*drord_stop_date/);
    assert.match(notes[1]!, /医嘱 D /);
  });
});

describe('replies as clients read them', { timeout: 5000 }, () => {
  const now = new Date(2026, 10, 24, 9, 12, 3, 45);
  const verdict: Verdict = {
    type: 'verdict',
    id: 'M1',
    result: 'block',
    findings: [{ findingId: 'f1', ruleId: 'IND-0001', kind: 'indication', level: 'block', lines: ['RX1'], title: 't', message: 'm', basis: 'b', actions: ['selfpay'], details: {} }],
    elapsedMs: 1,
  };
  const check = { id: 'M1', patient: { id: 'P1' }, visit: { id: 'V1' }, items: [{ line: 'RX1', amount: 137 }] };

  test('17-digit times, a 30-digit inf_refmsgid, jrd_id in details, no extra fields', () => {
    const reply = nhsaResponse('t-1', [{ check, verdict }], { refmsgid: nationalMessageId('430796', now, 7), now });
    assert.equal(reply.refmsg_time, '20261124091203045');
    assert.equal(reply.inf_refmsgid, '430796202611240912030000000007');
    NhsaResponse.parse(reply);
    const result = (reply.output as { result: Array<Frame> }).result[0]!;
    const detail = (result.judge_result_detail_dtos as Frame[])[0]!;
    assert.equal(detail.jrd_id, 'M1#f1/1');
    assert.equal('jr_id' in detail, false);
    assert.equal('rxgate_result' in reply, false);
  });

  test('the extra fields only when asked', () => {
    const reply = nhsaResponse(undefined, [{ check, verdict }], { refmsgid: nationalMessageId(undefined, now, 1), now, extras: true });
    assert.equal(reply.rxgate_result, 'block');
    assert.equal(String(reply.inf_refmsgid).slice(0, 6), '000000');
  });

  test('an unchecked encounter fails the whole reply with the reason', () => {
    const reply = nhsaResponse(undefined, [{ check, verdict }, { check, verdict: { ...verdict, result: 'unchecked', reason: '规则库过期', findings: [] } }], { refmsgid: nationalMessageId(undefined, now, 1), now });
    assert.equal(reply.infcode, -1);
    assert.match(String(reply.err_msg), /规则库过期/);
  });

  test('9001: signinoutb with sign_time and sign_no', () => {
    const reply = nhsaSignIn({ refmsgid: nationalMessageId(undefined, now, 1), now }, 'S1');
    NhsaResponse.parse(reply);
    assert.deepEqual(reply.output, { signinoutb: { sign_time: '2026-11-24 09:12:03', sign_no: 'S1' } });
    assert.equal(nhsaTime(now).length, 17);
  });
});
