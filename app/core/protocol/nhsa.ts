/**
 * The national 事前/事中 interface shapes (9001 sign-in, 3101/3102 in, the standard response
 * envelope out, 3103 feedback in). HIS vendors have already written clients for the national
 * platform; reading what those clients really send (single objects where the definition says
 * arrays, `input` as a JSON string, `""` for an empty number, .NET dates) and answering in the
 * form their classes read lets the same code point at the local agent with only its URL
 * changed. Pure: no clock, no I/O; the service passes the time and ids in.
 */
import { z } from 'zod';
import type { CheckInput, Finding, Verdict } from './messages';

// ---- tolerant primitives -----------------------------------------------------------------

const Text = z.union([z.string(), z.number()]).transform((value) => String(value).trim());
/** Absent, `null` and `""` all mean "not given". */
const OptionalText = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((value) => (value === null || value === undefined || String(value).trim() === '' ? undefined : String(value).trim()));
/** A number, or its text; `""` and `null` (a NULL column serialised) mean "not given". */
const OptionalNumber = z
  .union([z.number(), z.string().trim().regex(/^(-?\d+(\.\d+)?)?$/, 'expected a number, "" or null'), z.null()])
  .optional()
  .transform((value) => (value === null || value === undefined || value === '' ? undefined : Number(value)));

/** A list the definition gives as an array, which some clients serialise as one object. */
function listOf<T extends z.ZodType>(item: T) {
  return z
    .union([z.array(item), item, z.null()])
    .optional()
    .transform((value): Array<z.output<T>> => (value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]));
}

/** An object some clients send as a JSON string (a serialised `input`, say). */
function objectOrJson<T extends z.ZodType>(inner: T) {
  return z.union([
    z
      .string()
      .transform((text, context) => {
        try {
          return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
        } catch {
          context.addIssue({ code: 'custom', message: 'expected an object or a JSON string of one' });
          return z.NEVER;
        }
      })
      .pipe(inner),
    inner,
  ]);
}

/** A date and time as national clients write them, read as local wall-clock time. */
export interface NhsaDate {
  /** `YYYY-MM-DD` */
  date: string;
  /** Minutes after midnight, when a time was given. */
  minutes?: number;
}

/**
 * Reads `yyyy-MM-dd HH:mm:ss`, `yyyy/M/d H:mm:ss` (.NET zh-CN `ToString()`), `yyyy-MM-dd`,
 * `yyyyMMdd[HHmmss]` and ISO `…T…`. Not a real calendar date → undefined.
 */
export function parseNhsaDate(value: string | undefined): NhsaDate | undefined {
  if (!value) return undefined;
  const text = value.trim();
  const match =
    /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?/.exec(text) ??
    /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  const date = `${match[1]}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  if (match[4] === undefined) return { date };
  const [hours, minutes] = [Number(match[4]), Number(match[5])];
  if (hours > 23 || minutes > 59) return { date };
  return { date, minutes: hours * 60 + minutes };
}

function dayNumber(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / 86_400_000;
}

// ---- requests ------------------------------------------------------------------------------

const NhsaDiagnosis = z
  .object({
    dise_codg: OptionalText,
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
    cnt: OptionalNumber,
    pric: OptionalNumber,
    sumamt: OptionalNumber,
    spec_unt: OptionalText,
    long_drord_flag: OptionalText,
    drord_begn_date: OptionalText,
    drord_stop_date: OptionalText,
    drord_dept_codg: OptionalText,
    drord_dept_name: OptionalText,
    drord_dr_codg: OptionalText,
    drord_dr_name: OptionalText,
    curr_drord_flag: OptionalText,
    /** 周期天数, as 2204 fee details carry it; some clients add it to 3101 orders. */
    prd_days: OptionalNumber,
    /** 单次剂量, its unit and 使用频次, where a client sends the usage. */
    sin_dos: OptionalNumber,
    sin_dos_unt: OptionalText,
    used_frqu_dscr: OptionalText,
    /** 自费标志 is not part of 3101; some vendors send `selfpay_flag`. */
    selfpay_flag: OptionalText,
    /** 限制使用标志: 1 = the doctor declared the item's restriction met (rules v2 `attested`). */
    lmt_used_flag: OptionalText,
    /** 开单医师职称 (either title dictionary; rules v2 `visit.doctor.title`). */
    drord_dr_profttl: OptionalText,
  })
  .passthrough();

/** 手术操作 (rules v2 `procedures[]`). */
const NhsaOperation = z
  .object({
    oprn_code: OptionalText,
    oprn_name: OptionalText,
    oprn_date: OptionalText,
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
    fsi_diagnose_dtos: listOf(NhsaDiagnosis),
    fsi_order_dtos: listOf(NhsaOrder),
    /** Absent: not known (conditions on operations are to attest); present, even empty: known. */
    fsi_operation_dtos: z.union([z.array(NhsaOperation), NhsaOperation, z.null()]).optional(),
    /** 生育状态 / 孕产状态: 1 孕期, 2 哺乳期, anything else neither (rules v2 `patient.pregnancy`). */
    matn_stas: OptionalText,
  })
  .passthrough();

const NhsaPatient = z
  .object({
    patn_id: Text,
    patn_name: OptionalText,
    gend: OptionalText,
    brdy: OptionalText,
    curr_mdtrt_id: OptionalText,
    matn_stas: OptionalText,
    fsi_encounter_dtos: listOf(NhsaEncounter).refine((list) => list.length > 0, 'a patient needs at least one encounter'),
  })
  .passthrough();

/** The fields every national envelope shares; `infno` may be a number. */
const envelopeFields = {
  infno: Text,
  msgid: OptionalText,
  mdtrtarea_admvs: OptionalText,
  insuplc_admdvs: OptionalText,
  opter: OptionalText,
  opter_name: OptionalText,
};

/** 3101 / 3102 request envelope, as RxGate reads it. */
export const Nhsa3101 = z
  .object({
    ...envelopeFields,
    input: objectOrJson(
      z.object({
        data: objectOrJson(
          z
            .object({
              task_id: OptionalText,
              trig_scen: OptionalText,
              patient_dtos: listOf(NhsaPatient).refine((list) => list.length > 0, 'at least one patient is needed'),
            })
            .passthrough(),
        ),
      }),
    ),
  })
  .passthrough();
export type Nhsa3101 = z.infer<typeof Nhsa3101>;

const NhsaWarn = z
  .object({
    warn_rslt_id: Text,
    dspo_way: z
      .union([z.literal('1'), z.literal('2'), z.literal(1), z.literal(2)], { error: 'dspo_way 只能是 1 (继续) 或 2 (返回修改)' })
      .transform(String),
    dspo_way_rea: OptionalText,
  })
  .passthrough();

/** 3103 feedback envelope: what the doctor did with each warning (all or some of a check's). */
export const Nhsa3103 = z
  .object({
    ...envelopeFields,
    input: objectOrJson(
      z.object({
        data: objectOrJson(
          z
            .object({
              warn_type: OptionalText,
              warns: listOf(NhsaWarn).refine((list) => list.length > 0, 'at least one warning is needed'),
            })
            .passthrough(),
        ),
      }),
    ),
  })
  .passthrough()
  .superRefine((message, context) => {
    message.input.data.warns.forEach((warn, index) => {
      if (warn.dspo_way === '1' && !warn.dspo_way_rea) {
        context.addIssue({
          code: 'custom',
          message: 'dspo_way_rea is required when dspo_way is 1 (继续)',
          path: ['input', 'data', 'warns', index, 'dspo_way_rea'],
        });
      }
    });
  });
export type Nhsa3103 = z.infer<typeof Nhsa3103>;

/** Just enough of any envelope to route it and answer it: the rest is read per `infno`. */
export const NhsaEnvelope = z.object(envelopeFields).passthrough();
export type NhsaEnvelope = z.infer<typeof NhsaEnvelope>;

// ---- 3101 → checks -------------------------------------------------------------------------

type Order = z.infer<typeof NhsaOrder>;
type Encounter = z.infer<typeof NhsaEncounter>;
type Patient = z.infer<typeof NhsaPatient>;

/** A request RxGate cannot turn into a check, with the JSON path of what is missing. */
export class NhsaInputError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'NhsaInputError';
  }
}

/** One check built from a 3101 request: an encounter's current orders (for a stay, one day's). */
export interface MappedCheck {
  check: CheckInput;
  patientId: string;
  visitId: string;
}

export interface MappedRequest {
  checks: MappedCheck[];
  /** What RxGate could not check, for `warn_msg`: never silence. */
  notes: string[];
}

const genderByCode: Record<string, 'M' | 'F'> = { '1': 'M', '2': 'F', M: 'M', F: 'F' };

/** 1 门诊, 2 住院 (3101 `med_mdtrt_type`); emergency visits come as 门诊 with med_type 13. */
function visitTypeOf(encounter: Encounter): 'outpatient' | 'emergency' | 'inpatient' {
  if (encounter.med_mdtrt_type === '2') return 'inpatient';
  if (encounter.med_type === '13') return 'emergency';
  return 'outpatient';
}

/** 医疗机构等级 `medins_lv`: 01 三级, 02 二级, 03 一级 in the national code table. */
function hospitalLevelOf(code: string | undefined): number | undefined {
  return code === '01' ? 3 : code === '02' ? 2 : code === '03' ? 1 : undefined;
}

/**
 * 目录类别 `hilist_type`: 101 西药中成药, 102 中药饮片, 106 中药配方颗粒 (dispensed and limited
 * as 饮片 are, so counted as herbal), 2xx 医疗服务, 5xx 长期服务, 3xx 耗材.
 */
function categoryOf(type: string | undefined): 'drug' | 'herbal' | 'granule' | 'service' | 'material' {
  if (type === '102') return 'herbal';
  // The herbal rules count 配方颗粒 with 饮片 (rules.md v2), and know them apart.
  if (type === '106') return 'granule';
  if (type?.startsWith('2') || type?.startsWith('5')) return 'service';
  if (type?.startsWith('3')) return 'material';
  return 'drug';
}

/** Times a day for the usual frequency codes and words (qd, bid, 每日3次, …). */
function timesPerDay(frequency: string | undefined): number | undefined {
  if (!frequency) return undefined;
  const text = frequency.trim().toLowerCase();
  const table: Record<string, number> = { qd: 1, bid: 2, tid: 3, qid: 4, q12h: 2, q8h: 3, q6h: 4, q4h: 6, qn: 1, qm: 1, qod: 0.5 };
  if (table[text] !== undefined) return table[text];
  const words = /^(?:每日|每天|一日|1日)([1-9一二三四五六])次$/.exec(text);
  if (!words) return undefined;
  const digits: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6 };
  return digits[words[1]!] ?? Number(words[1]);
}

/** Longer than this is no supply but a HIS's "open-ended" stop date (9999-12-31 and the like). */
const MAX_DAYS = 3650;

/**
 * Days an order covers: begin to stop date (a same-day order is one day); else `prd_days`;
 * else the quantity over the daily dose, where the dose is in the unit the quantity counts.
 */
function daysOf(order: Order): number | undefined {
  const begin = parseNhsaDate(order.drord_begn_date);
  const stop = parseNhsaDate(order.drord_stop_date);
  if (begin && stop) {
    const days = dayNumber(stop.date) - dayNumber(begin.date);
    if (days >= 0 && days <= MAX_DAYS) return Math.max(days, 1);
  }
  if (order.prd_days !== undefined && order.prd_days > 0 && order.prd_days <= MAX_DAYS) return Math.max(1, Math.round(order.prd_days));
  const perDay = timesPerDay(order.used_frqu_dscr);
  if (
    perDay !== undefined &&
    order.sin_dos !== undefined &&
    order.sin_dos > 0 &&
    order.cnt !== undefined &&
    order.sin_dos_unt !== undefined &&
    order.sin_dos_unt === order.spec_unt
  ) {
    const days = Math.ceil(order.cnt / (order.sin_dos * perDay));
    if (days <= MAX_DAYS) return Math.max(1, days);
  }
  return undefined;
}

/**
 * The encounters whose orders are being checked: `curr_mdtrt_id`'s, and any with an order
 * flagged current; with neither, the first one (a client sending one visit flags nothing).
 */
function currentEncounters(patient: Patient): Set<Encounter> {
  const current = new Set<Encounter>();
  for (const encounter of patient.fsi_encounter_dtos) {
    if (encounter.mdtrt_id === patient.curr_mdtrt_id) current.add(encounter);
    if (encounter.fsi_order_dtos.some((order) => order.curr_drord_flag === '1')) current.add(encounter);
  }
  if (current.size === 0) current.add(patient.fsi_encounter_dtos[0]!);
  return current;
}

function isReversal(order: Order): boolean {
  return (order.cnt ?? 0) < 0 || (order.sumamt ?? 0) < 0;
}

function nameOf(order: Order): string | undefined {
  return order.hilist_name ?? order.hosplist_name ?? order.hilist_code ?? order.hosplist_code;
}

interface HistoryInput {
  rxId?: string;
  code?: string;
  hospCode?: string;
  name?: string;
  date: string;
  days?: number;
  qty?: number;
  amount?: number;
  dept?: { code: string; name?: string };
  doctor?: { code: string; name?: string };
  /** The encounter (`mdtrt_id`) the order belonged to: per-visit and per-admission counts. */
  visitId?: string;
}

function historyOf(order: Order, date: string): HistoryInput {
  return {
    rxId: order.rx_id,
    code: order.hilist_code,
    hospCode: order.hosplist_code,
    name: nameOf(order),
    date,
    days: daysOf(order),
    qty: order.cnt,
    amount: order.sumamt,
    dept: order.drord_dept_codg ? { code: order.drord_dept_codg, name: order.drord_dept_name } : undefined,
    doctor: order.drord_dr_codg ? { code: order.drord_dr_codg, name: order.drord_dr_name } : undefined,
  };
}

/**
 * Maps a 3101/3102 request onto native checks: one per current encounter of every patient,
 * and for an inpatient stay one per order day, each checked on that day ("today" is the
 * order's own date, not the admission). Orders not being checked — flagged `0`, or in
 * another encounter — are the patient's history, and so are a stay's earlier days for its
 * later ones. Check ids are the message id, suffixed `-n` when one request holds several.
 */
export function checksFromNhsa(request: Nhsa3101, fallbackId: string, ui: 'popup' | 'none'): MappedRequest {
  const baseId = request.msgid ?? fallbackId;
  const notes: string[] = [];
  const drafts: Array<Omit<MappedCheck, 'check'> & { check: Omit<CheckInput, 'id'> }> = [];
  request.input.data.patient_dtos.forEach((patient, patientIndex) => {
    const current = currentEncounters(patient);
    const history: HistoryInput[] = [];
    const groups: Array<{ encounter: Encounter; encounterIndex: number; date: string; orders: Order[] }> = [];
    let undatedHistory = 0;
    let undaysHistory = 0;
    let reversals = 0;
    patient.fsi_encounter_dtos.forEach((encounter, encounterIndex) => {
      const admission = parseNhsaDate(encounter.adm_date)?.date;
      const isCurrent = current.has(encounter);
      // A negative quantity or amount is a return (退费/冲销), not something prescribed.
      const orders = encounter.fsi_order_dtos.filter((order) => !isReversal(order));
      reversals += encounter.fsi_order_dtos.length - orders.length;
      const checked = isCurrent ? orders.filter((order) => order.curr_drord_flag !== '0') : [];
      for (const order of orders) {
        if (checked.includes(order)) continue;
        const date = parseNhsaDate(order.drord_begn_date)?.date ?? admission;
        if (!date) {
          undatedHistory += 1;
          continue;
        }
        const entry = historyOf(order, date);
        entry.visitId = encounter.mdtrt_id;
        if (entry.days === undefined && categoryOf(order.hilist_type) !== 'service' && categoryOf(order.hilist_type) !== 'material') undaysHistory += 1;
        if (entry.code !== undefined || entry.hospCode !== undefined) history.push(entry);
      }
      if (checked.length === 0) return;
      const inpatient = visitTypeOf(encounter) === 'inpatient';
      const dated = checked.map((order) => ({ order, date: parseNhsaDate(order.drord_begn_date)?.date }));
      const latest = dated.reduce<string | undefined>((max, entry) => (entry.date && (!max || entry.date > max) ? entry.date : max), undefined);
      if (inpatient) {
        // A stay's orders are checked day by day: an order without a date belongs to the
        // latest day sent (the one being ordered now).
        const byDay = new Map<string, Order[]>();
        for (const { order, date } of dated) {
          const day = date ?? latest ?? admission;
          if (!day) throw undatedError(patientIndex, encounterIndex);
          byDay.set(day, [...(byDay.get(day) ?? []), order]);
        }
        for (const [date, orders] of [...byDay].sort(([a], [b]) => a.localeCompare(b))) groups.push({ encounter, encounterIndex, date, orders });
      } else {
        const date = latest ?? admission;
        if (!date) throw undatedError(patientIndex, encounterIndex);
        groups.push({ encounter, encounterIndex, date, orders: checked });
      }
    });
    if (groups.length === 0) notes.push(`患者 ${patient.patn_id}: 没有当前医嘱 (curr_drord_flag 为 1 或不填), 未检查`);
    if (reversals > 0) notes.push(`患者 ${patient.patn_id}: ${reversals} 条数量或金额为负的医嘱 (退费/冲销) 未作检查`);
    if (undatedHistory > 0) notes.push(`患者 ${patient.patn_id}: ${undatedHistory} 条历史医嘱没有日期 (drord_begn_date), 未作为历史用药参与检查`);
    if (undaysHistory > 0) notes.push(`患者 ${patient.patn_id}: ${undaysHistory} 条历史医嘱没有停止日期或用量, 不参与重复开药和累计天数判断`);
    for (const group of groups) {
      const { encounter, date, orders } = group;
      const earlierDays = groups
        .filter((other) => other.encounter === encounter && other.date < date)
        .flatMap((other) => other.orders.map((order) => ({ ...historyOf(order, other.date), visitId: encounter.mdtrt_id })));
      drafts.push({
        patientId: patient.patn_id,
        visitId: encounter.mdtrt_id,
        check: checkOf(patient, encounter, date, orders, [...history, ...earlierDays], ui, notes),
      });
    }
  });
  // Nothing to check must not read as "nothing fired".
  if (drafts.length === 0) {
    throw new NhsaInputError('没有要检查的当前医嘱: 当前就诊中 curr_drord_flag 为 1 或不填的医嘱至少要有一条', '$.input.data.patient_dtos');
  }
  const checks = drafts.map((draft, index) => ({
    ...draft,
    check: { ...draft.check, id: drafts.length === 1 ? baseId : `${baseId}-${index + 1}` } as CheckInput,
  }));
  return { checks, notes };
}

function undatedError(patientIndex: number, encounterIndex: number): NhsaInputError {
  return new NhsaInputError(
    '无法确定就诊日期: 需要当前医嘱的 drord_begn_date 或就诊的 adm_date',
    `$.input.data.patient_dtos[${patientIndex}].fsi_encounter_dtos[${encounterIndex}]`,
  );
}

function checkOf(
  patient: Patient,
  encounter: Encounter,
  date: string,
  orders: Order[],
  history: HistoryInput[],
  ui: 'popup' | 'none',
  notes: string[],
): Omit<CheckInput, 'id'> {
  // The ordering department and doctor (drord_dept_*, drord_dr_*) are who prescribes now;
  // the encounter's admitting ones stand in where the orders do not say.
  const ordering = orders.find((order) => order.drord_dept_codg || order.drord_dr_codg);
  const deptCode = ordering?.drord_dept_codg ?? encounter.adm_dept_codg;
  const deptName = ordering?.drord_dept_codg ? ordering.drord_dept_name : encounter.adm_dept_name;
  const doctorCode = ordering?.drord_dr_codg ?? encounter.dr_codg;
  const doctorName = ordering?.drord_dr_codg ? ordering.drord_dr_name : encounter.dr_name;
  const items = orders.map((order, index) => {
    const category = categoryOf(order.hilist_type);
    const days = daysOf(order);
    const line = order.rx_id ?? String(index + 1);
    if (days === undefined && (category === 'drug' || category === 'herbal' || category === 'granule')) {
      notes.push(`医嘱 ${line} ${nameOf(order) ?? ''}: 没有停止日期 (drord_stop_date) 或用量 (prd_days), 未做用药天数和重复开药检查`);
    }
    return {
      line,
      code: order.hilist_code,
      hospCode: order.hosplist_code,
      name: nameOf(order) ?? '',
      category,
      qty: order.cnt,
      unit: order.spec_unt,
      price: order.pric,
      amount: order.sumamt,
      days,
      channel: order.selfpay_flag === '1' ? ('selfpay' as const) : ('insured' as const),
      ...(order.lmt_used_flag === '1' ? { attested: true as const } : {}),
    };
  });
  const operations = encounter.fsi_operation_dtos;
  const procedures =
    operations === undefined
      ? undefined
      : (operations === null ? [] : Array.isArray(operations) ? operations : [operations]).flatMap((operation) =>
          operation.oprn_code ? [{ code: operation.oprn_code, name: operation.oprn_name, date: parseNhsaDate(operation.oprn_date)?.date }] : [],
        );
  const pregnancyCode = encounter.matn_stas ?? patient.matn_stas;
  const title = ordering?.drord_dr_profttl ?? orders.find((order) => order.drord_dr_profttl)?.drord_dr_profttl;
  return {
    type: 'check',
    ui,
    patient: {
      id: patient.patn_id,
      name: patient.patn_name,
      gender: patient.gend ? genderByCode[patient.gend] : undefined,
      birthDate: parseNhsaDate(patient.brdy)?.date,
      insurance: encounter.insutype,
      pregnancy: pregnancyCode === undefined ? undefined : pregnancyCode === '1' ? 'pregnant' : pregnancyCode === '2' ? 'lactating' : 'none',
    },
    visit: {
      id: encounter.mdtrt_id,
      type: visitTypeOf(encounter),
      medType: encounter.med_type,
      date,
      dept: deptCode ? { code: deptCode, name: deptName } : undefined,
      doctor: doctorCode ? { code: doctorCode, name: doctorName, ...(title ? { title } : {}) } : undefined,
      hospitalLevel: hospitalLevelOf(encounter.medins_lv),
    },
    // A row with an empty code (an unfilled diagnosis slot) says nothing.
    diagnoses: encounter.fsi_diagnose_dtos.flatMap((diagnosis) =>
      diagnosis.dise_codg ? [{ code: diagnosis.dise_codg, name: diagnosis.dise_name, main: diagnosis.maindise_flag === '1' }] : [],
    ),
    items,
    history,
    ...(procedures ? { procedures } : {}),
  };
}

// ---- ids and times -------------------------------------------------------------------------

/** `jr_id` ties a 3103 warning back to the check and finding it came from. */
export function judgementId(checkId: string, findingId: string): string {
  return `${checkId}#${findingId}`;
}

export function parseJudgementId(jrId: string): { checkId: string; findingId: string } | null {
  const at = jrId.lastIndexOf('#');
  if (at <= 0 || at === jrId.length - 1) return null;
  return { checkId: jrId.slice(0, at), findingId: jrId.slice(at + 1) };
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** `yyyyMMddHHmmssSSS` in the PC's local time, as the national envelope's time fields. */
export function nhsaTime(date: Date): string {
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}${pad(date.getMilliseconds(), 3)}`
  );
}

/** `yyyy-MM-dd HH:mm:ss` local: 9001's `sign_time`. */
function wallTime(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * A platform message id in the national form (30 digits): the 6-digit area code, the time
 * `yyyyMMddHHmmss` and a 10-digit sequence. Clients store it; some check its length.
 */
export function nationalMessageId(area: string | undefined, now: Date, sequence: number): string {
  const code = area && /^\d{6}$/.test(area) ? area : '000000';
  return `${code}${nhsaTime(now).slice(0, 14)}${pad(sequence % 1e10, 10)}`;
}

// ---- replies -------------------------------------------------------------------------------

/**
 * `sev_deg`: 拦截 is 1 and 提醒 2, so a HIS that treats 1 as must-fix keeps doing the right
 * thing. `vola_bhvr_type` carries the rule kind as a short code (see docs/protocol.md).
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

/** What a reply is about: the ids and times of the envelope around the results. */
export interface ReplyContext {
  refmsgid: string;
  now: Date;
  /** Texts for `warn_msg`; none → null. */
  notes?: string[];
  /** RxGate's own top-level fields (`rxgate_result`, `rxgate_pending`), only when a setting asks. */
  extras?: boolean;
}

function envelope(context: ReplyContext, infcode: 0 | -1, errorMessage: string, output: unknown): Record<string, unknown> {
  const time = nhsaTime(context.now);
  return {
    infcode,
    inf_refmsgid: context.refmsgid,
    refmsg_time: time,
    respond_time: time,
    err_msg: errorMessage,
    warn_msg: context.notes && context.notes.length > 0 ? context.notes.join('；') : null,
    // The platform sends these as null when the reply is not encrypted; clients' classes declare them.
    cainfo: null,
    signtype: null,
    output,
  };
}

/** One checked encounter and what RxGate found. */
export interface CheckedEntry {
  check: { id: string; patient: { id: string }; visit: { id: string }; items: Array<{ line: string; amount?: number; price?: number; qty?: number }> };
  verdict: Verdict;
}

/**
 * The standard response envelope for a 3101/3102 request: every check's results in one
 * `output.result`, as the platform answers several patients in one call. A check RxGate
 * could not run must not look like "nothing fired": the whole reply is then a failure.
 */
export function nhsaResponse(taskId: string | undefined, entries: CheckedEntry[], context: ReplyContext): Record<string, unknown> {
  const unchecked = entries.filter((entry) => entry.verdict.result === 'unchecked');
  if (unchecked.length > 0) {
    const reasons = [...new Set(unchecked.map((entry) => entry.verdict.reason ?? '原因不明'))];
    const reply = envelope(context, -1, `未检查: ${reasons.join('；')}`, null);
    return context.extras ? { ...reply, rxgate_result: 'unchecked' } : reply;
  }
  const result = entries.flatMap(({ check, verdict }) => {
    const amountOf = new Map(
      check.items.map((item) => [item.line, item.amount ?? (item.price !== undefined && item.qty !== undefined ? item.price * item.qty : 0)]),
    );
    return verdict.findings.map((finding) => {
      const jrId = judgementId(check.id, finding.findingId);
      return {
        jr_id: jrId,
        rule_id: finding.ruleId,
        rule_name: finding.title,
        vola_cont: finding.message,
        patn_id: check.patient.id,
        mdtrt_id: check.visit.id,
        vola_amt: round2(finding.lines.reduce((sum, line) => sum + (amountOf.get(line) ?? 0), 0)),
        vola_amt_stas: '1',
        sev_deg: severityByLevel[finding.level],
        vola_evid: finding.basis,
        vola_bhvr_type: behaviourByKind[finding.kind],
        task_id: taskId ?? check.id,
        // The detail id stays short (clients keep ids in 50-character columns): the line's place, not its rx_id.
        judge_result_detail_dtos: finding.lines.map((line, index) => ({
          jrd_id: `${jrId}/${index + 1}`,
          patn_id: check.patient.id,
          mdtrt_id: check.visit.id,
          rx_id: line,
          vola_item_type: '1',
          vola_amt: round2(amountOf.get(line) ?? 0),
        })),
      };
    });
  });
  const reply = envelope(context, 0, '', { result });
  if (!context.extras) return reply;
  const order = ['pass', 'warn', 'block'] as const;
  const worst = entries.reduce<(typeof order)[number]>((max, entry) => {
    const level = entry.verdict.result as (typeof order)[number];
    return order.indexOf(level) > order.indexOf(max) ? level : max;
  }, 'pass');
  return { ...reply, rxgate_result: worst, rxgate_pending: entries.some((entry) => entry.verdict.pending === true) };
}

/** The envelope for anything RxGate could not accept: `infcode` -1 and the reason. */
export function nhsaError(message: string, context: ReplyContext, path?: string): Record<string, unknown> {
  return envelope(context, -1, path ? `${message} (${path})` : message, null);
}

/** 9001 签到 answered locally: there is no session to open, but clients wait for `sign_no`. */
export function nhsaSignIn(context: ReplyContext, signNumber: string): Record<string, unknown> {
  return envelope(context, 0, '', { signinoutb: { sign_time: wallTime(context.now), sign_no: signNumber } });
}

/** 9002 签退 answered locally: nothing to close, but clients record `sign_time`. */
export function nhsaSignOut(context: ReplyContext): Record<string, unknown> {
  return envelope(context, 0, '', { signoutoutb: { sign_time: wallTime(context.now) } });
}

/** 3103 accepted: the platform answers with an empty output. */
export function nhsaAccepted(context: ReplyContext): Record<string, unknown> {
  return envelope(context, 0, '', {});
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

// ---- the published reference --------------------------------------------------------------

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
    z.object({ jrd_id: z.string(), patn_id: z.string(), mdtrt_id: z.string(), rx_id: z.string(), vola_item_type: z.string(), vola_amt: z.number() }).strict(),
  ),
}).strict();

/** The response envelope RxGate answers 9001/9002, 3101/3102 and 3103 with; for the published reference. */
export const NhsaResponse = z
  .object({
    infcode: z.union([z.literal(0), z.literal(-1)]),
    inf_refmsgid: z.string().regex(/^\d{30}$/),
    refmsg_time: z.string().regex(/^\d{17}$/),
    respond_time: z.string().regex(/^\d{17}$/),
    err_msg: z.string(),
    warn_msg: z.string().nullable(),
    cainfo: z.null(),
    signtype: z.null(),
    rxgate_result: z.enum(['pass', 'warn', 'block', 'unchecked']).optional(),
    rxgate_pending: z.boolean().optional(),
    output: z.union([
      z.object({ result: z.array(NhsaJudgement) }).strict(),
      z.object({ signinoutb: z.object({ sign_time: z.string(), sign_no: z.string() }).strict() }).strict(),
      z.object({ signoutoutb: z.object({ sign_time: z.string() }).strict() }).strict(),
      z.object({}).strict(),
      z.null(),
    ]),
  })
  .strict();
