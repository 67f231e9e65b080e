/**
 * The national 事前/事中 interface shapes (3101/3102 in, the standard response envelope out,
 * 3103 feedback in). HIS vendors have already implemented these against the national
 * platform; mapping them onto RxGate's own `check`/`verdict`/`decision` lets the same HIS
 * code point at the local agent.
 */
import { z } from 'zod';
import type { CheckInput, Finding, Verdict } from './messages';

const Text = z.union([z.string(), z.number()]).transform((value) => String(value));
const OptionalText = Text.optional().nullable().transform((value) => (value === null || value === '' ? undefined : value));
const Amount = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform(Number);

const NhsaDiagnosis = z
  .object({
    dise_codg: Text,
    dise_name: OptionalText,
    maindise_flag: OptionalText,
  })
  .passthrough();

const NhsaOrder = z
  .object({
    rx_id: OptionalText,
    hilist_type: OptionalText,
    hilist_code: OptionalText,
    hilist_name: OptionalText,
    hosplist_code: OptionalText,
    hosplist_name: OptionalText,
    cnt: Amount.optional(),
    pric: Amount.optional(),
    sumamt: Amount.optional(),
    spec_unt: OptionalText,
    drord_begn_date: OptionalText,
    drord_stop_date: OptionalText,
    drord_dept_codg: OptionalText,
    drord_dept_name: OptionalText,
    drord_dr_codg: OptionalText,
    drord_dr_name: OptionalText,
    curr_drord_flag: OptionalText,
    /** 自费标志 is not part of 3101; some vendors send `selfpay_flag`/`chrg_type`. Only the former is honoured. */
    selfpay_flag: OptionalText,
  })
  .passthrough();

const NhsaEncounter = z
  .object({
    mdtrt_id: Text,
    medins_lv: OptionalText,
    adm_date: OptionalText,
    adm_dept_codg: OptionalText,
    adm_dept_name: OptionalText,
    dr_codg: OptionalText,
    dr_name: OptionalText,
    med_mdtrt_type: OptionalText,
    med_type: OptionalText,
    insutype: OptionalText,
    fsi_diagnose_dtos: z.array(NhsaDiagnosis).default([]),
    fsi_order_dtos: z.array(NhsaOrder).min(1),
  })
  .passthrough();

const NhsaPatient = z
  .object({
    patn_id: Text,
    patn_name: OptionalText,
    gend: OptionalText,
    brdy: OptionalText,
    curr_mdtrt_id: OptionalText,
    fsi_encounter_dtos: z.array(NhsaEncounter).min(1),
  })
  .passthrough();

/** 3101 / 3102 request envelope. */
export const Nhsa3101 = z
  .object({
    infno: z.enum(['3101', '3102']),
    msgid: OptionalText,
    opter: OptionalText,
    opter_name: OptionalText,
    input: z.object({
      data: z
        .object({
          task_id: OptionalText,
          trig_scen: OptionalText,
          patient_dtos: z.array(NhsaPatient).min(1).max(1),
        })
        .passthrough(),
    }),
  })
  .passthrough();
export type Nhsa3101 = z.infer<typeof Nhsa3101>;

/** 3103 feedback envelope: what the doctor did with each warning. */
export const Nhsa3103 = z
  .object({
    infno: z.literal('3103'),
    msgid: OptionalText,
    input: z.object({
      data: z
        .object({
          warn_type: OptionalText,
          warns: z
            .array(
              z
                .object({
                  warn_rslt_id: Text,
                  dspo_way: z.union([z.literal('1'), z.literal('2'), z.literal(1), z.literal(2)]).transform(String),
                  dspo_way_rea: OptionalText,
                })
                .passthrough(),
            )
            .min(1),
        })
        .passthrough(),
    }),
  })
  .passthrough()
  .superRefine((message, context) => {
    message.input.data.warns.forEach((warn, index) => {
      if (warn.dspo_way === '1' && !warn.dspo_way_rea?.trim()) {
        context.addIssue({
          code: 'custom',
          message: 'dspo_way_rea is required when dspo_way is 1 (继续)',
          path: ['input', 'data', 'warns', index, 'dspo_way_rea'],
        });
      }
    });
  });
export type Nhsa3103 = z.infer<typeof Nhsa3103>;

function dateOnly(value: string | undefined): string | undefined {
  const match = value ? /^(\d{4})-?(\d{2})-?(\d{2})/.exec(value) : null;
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

/** Whole days from begin to stop date (a 7-day order runs 11-24 → 12-01). */
function daysBetween(begin: string | undefined, stop: string | undefined): number | undefined {
  const from = dateOnly(begin);
  const to = dateOnly(stop);
  if (!from || !to) return undefined;
  const days = Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
  return days > 0 ? days : undefined;
}

const genderByCode: Record<string, 'M' | 'F'> = { '1': 'M', '2': 'F', M: 'M', F: 'F' };

/** 1 门诊, 2 住院 (3101 `med_mdtrt_type`); emergency visits come as 门诊 with an emergency med_type. */
function visitTypeOf(encounter: z.infer<typeof NhsaEncounter>): 'outpatient' | 'emergency' | 'inpatient' {
  if (encounter.med_mdtrt_type === '2') return 'inpatient';
  // 医疗类别 13 is 急诊 in the national code table.
  if (encounter.med_type === '13') return 'emergency';
  return 'outpatient';
}

/** 医疗机构等级 `medins_lv`: 01 三级, 02 二级, 03 一级 in the national code table. */
function hospitalLevelOf(code: string | undefined): number | undefined {
  switch (code) {
    case '01':
      return 3;
    case '02':
      return 2;
    case '03':
      return 1;
    default:
      return undefined;
  }
}

/**
 * Maps a 3101/3102 request onto a native `check` (still to be validated by the `Check` schema).
 * The check id is the message id, so the response, the `decision` and 3103's `jr_id` tie back to it.
 */
export function checkFromNhsa(request: Nhsa3101, fallbackId: string, ui: 'popup' | 'none'): CheckInput {
  const patient = request.input.data.patient_dtos[0]!;
  const encounter =
    patient.fsi_encounter_dtos.find((candidate) => candidate.mdtrt_id === patient.curr_mdtrt_id) ??
    patient.fsi_encounter_dtos[0]!;
  // Orders without the flag are taken as current: the order being checked is the one a HIS sends.
  const current = encounter.fsi_order_dtos.filter((order) => order.curr_drord_flag !== '0');
  const visitDate = dateOnly(encounter.adm_date) ?? dateOnly(current[0]?.drord_begn_date);
  // The ordering department and doctor (drord_dept_*, drord_dr_*) are who prescribes now;
  // the encounter's admitting ones stand in where the orders do not say.
  const ordering = current.find((order) => order.drord_dept_codg || order.drord_dr_codg);
  const deptCode = ordering?.drord_dept_codg ?? encounter.adm_dept_codg;
  const deptName = ordering?.drord_dept_codg ? ordering.drord_dept_name : encounter.adm_dept_name;
  const doctorCode = ordering?.drord_dr_codg ?? encounter.dr_codg;
  const doctorName = ordering?.drord_dr_codg ? ordering.drord_dr_name : encounter.dr_name;
  const earlier = patient.fsi_encounter_dtos.flatMap((candidate) =>
    candidate.fsi_order_dtos.filter((order) => order.curr_drord_flag === '0'),
  );
  return {
    type: 'check',
    id: request.msgid ?? fallbackId,
    ui,
    patient: {
      id: patient.patn_id,
      name: patient.patn_name,
      gender: patient.gend ? genderByCode[patient.gend] : undefined,
      birthDate: dateOnly(patient.brdy),
      insurance: encounter.insutype,
    },
    visit: {
      id: encounter.mdtrt_id,
      type: visitTypeOf(encounter),
      medType: encounter.med_type,
      date: visitDate ?? '',
      dept: deptCode ? { code: deptCode, name: deptName } : undefined,
      doctor: doctorCode ? { code: doctorCode, name: doctorName } : undefined,
      hospitalLevel: hospitalLevelOf(encounter.medins_lv),
    },
    diagnoses: encounter.fsi_diagnose_dtos.map((diagnosis) => ({
      code: diagnosis.dise_codg,
      name: diagnosis.dise_name,
      main: diagnosis.maindise_flag === '1',
    })),
    items: current.map((order, index) => ({
      line: order.rx_id ?? String(index + 1),
      code: order.hilist_code,
      hospCode: order.hosplist_code,
      name: order.hilist_name ?? order.hosplist_name ?? order.hilist_code ?? order.hosplist_code ?? '',
      // 102 is 中药饮片 in the national list types; 101 西药中成药; 2xx 医疗服务; 301 耗材.
      category:
        order.hilist_type === '102'
          ? 'herbal'
          : order.hilist_type?.startsWith('2')
            ? 'service'
            : order.hilist_type?.startsWith('3')
              ? 'material'
              : 'drug',
      qty: order.cnt,
      unit: order.spec_unt,
      price: order.pric,
      amount: order.sumamt,
      days: daysBetween(order.drord_begn_date, order.drord_stop_date),
      channel: order.selfpay_flag === '1' ? 'selfpay' : 'insured',
    })),
    history: earlier.map((order) => ({
      rxId: order.rx_id,
      code: order.hilist_code,
      hospCode: order.hosplist_code,
      name: order.hilist_name ?? order.hosplist_name,
      date: dateOnly(order.drord_begn_date) ?? '',
      days: daysBetween(order.drord_begn_date, order.drord_stop_date),
      qty: order.cnt,
      amount: order.sumamt,
      dept: order.drord_dept_codg ? { code: order.drord_dept_codg, name: order.drord_dept_name } : undefined,
      doctor: order.drord_dr_codg ? { code: order.drord_dr_codg, name: order.drord_dr_name } : undefined,
    })),
  };
}

/** `jr_id` ties a 3103 warning back to the check and finding it came from. */
export function judgementId(checkId: string, findingId: string): string {
  return `${checkId}#${findingId}`;
}

export function parseJudgementId(jrId: string): { checkId: string; findingId: string } | null {
  const at = jrId.lastIndexOf('#');
  if (at <= 0 || at === jrId.length - 1) return null;
  return { checkId: jrId.slice(0, at), findingId: jrId.slice(at + 1) };
}

/**
 * `sev_deg`: RxGate maps 拦截 to 1 and 提醒 to 2, so a HIS that treats 1 as must-fix keeps
 * doing the right thing. `vola_bhvr_type` carries the rule kind as a short code.
 */
const severityByLevel = { block: '1', warn: '2' } as const;
const behaviourByKind: Record<Finding['kind'], string> = {
  indication: '1',
  chronic: '2',
  repeat: '3',
  days: '4',
  herbal: '5',
  limit: '6',
};

function formatTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The standard response envelope for a 3101/3102 request. */
export function nhsaResponse(
  request: Nhsa3101 | undefined,
  check: { id: string; patient: { id: string }; visit: { id: string }; items: Array<{ line: string; amount?: number; price?: number; qty?: number }> },
  verdict: Verdict,
  now: Date,
): Record<string, unknown> {
  const amountOf = new Map(
    check.items.map((item) => [item.line, item.amount ?? (item.price !== undefined && item.qty !== undefined ? item.price * item.qty : 0)]),
  );
  const result = verdict.findings.map((finding) => {
    const jrId = judgementId(check.id, finding.findingId);
    const volaAmount = round2(finding.lines.reduce((sum, line) => sum + (amountOf.get(line) ?? 0), 0));
    return {
      jr_id: jrId,
      rule_id: finding.ruleId,
      rule_name: finding.title,
      vola_cont: finding.message,
      patn_id: check.patient.id,
      mdtrt_id: check.visit.id,
      vola_amt: volaAmount,
      vola_amt_stas: '1',
      sev_deg: severityByLevel[finding.level],
      vola_evid: finding.basis,
      vola_bhvr_type: behaviourByKind[finding.kind],
      task_id: request?.input.data.task_id ?? check.id,
      judge_result_detail_dtos: finding.lines.map((line) => ({
        jr_id: jrId,
        patn_id: check.patient.id,
        mdtrt_id: check.visit.id,
        rx_id: line,
        vola_item_type: '1',
        vola_amt: round2(amountOf.get(line) ?? 0),
      })),
    };
  });
  // An empty `result` means nothing fired, so an order RxGate could not check must not look
  // like one: it is answered as a failure, with the reason, and the HIS decides (hospitals
  // usually let the order through, as they would with the national platform down).
  if (verdict.result === 'unchecked') {
    return { ...nhsaError(`未检查: ${verdict.reason ?? '原因不明'}`, request?.msgid ?? check.id, now), rxgate_result: 'unchecked' };
  }
  return {
    infcode: 0,
    inf_refmsgid: request?.msgid ?? check.id,
    refmsg_time: formatTime(now),
    respond_time: formatTime(now),
    err_msg: '',
    // RxGate additions, ignored by clients that only know the national fields.
    rxgate_result: verdict.result,
    rxgate_pending: verdict.pending === true,
    output: { result },
  };
}

/** The envelope for a request RxGate could not accept. */
export function nhsaError(message: string, msgid: string | undefined, now: Date, path?: string): Record<string, unknown> {
  return {
    infcode: -1,
    inf_refmsgid: msgid ?? '',
    refmsg_time: formatTime(now),
    respond_time: formatTime(now),
    err_msg: path ? `${message} (${path})` : message,
    output: null,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

const NhsaJudgement = z.object({
  jr_id: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  vola_cont: z.string(),
  patn_id: z.string(),
  mdtrt_id: z.string(),
  vola_amt: z.number(),
  vola_amt_stas: z.string(),
  sev_deg: z.enum(['1', '2']),
  vola_evid: z.string(),
  vola_bhvr_type: z.string(),
  task_id: z.string(),
  judge_result_detail_dtos: z.array(
    z.object({ jr_id: z.string(), patn_id: z.string(), mdtrt_id: z.string(), rx_id: z.string(), vola_item_type: z.string(), vola_amt: z.number() }),
  ),
});

/** The response envelope RxGate answers 3101/3102 (and, with `output` empty, 3103) with; for the published reference. */
export const NhsaResponse = z.object({
  infcode: z.union([z.literal(0), z.literal(-1)]),
  inf_refmsgid: z.string(),
  refmsg_time: z.string().optional(),
  respond_time: z.string().optional(),
  err_msg: z.string(),
  rxgate_result: z.enum(['pass', 'warn', 'block', 'unchecked']).optional(),
  rxgate_pending: z.boolean().optional(),
  output: z.union([z.object({ result: z.array(NhsaJudgement) }), z.object({}), z.null()]),
});
