/**
 * The localhost protocol's messages (shared/spec/protocol.md). These zod schemas validate
 * every frame at the edge; docs/protocol.md's JSON Schemas are generated from them, so the
 * reference cannot drift from what the agent accepts.
 */
import { z } from 'zod';
import { ERROR_CODE_NAMES } from './error-codes';
import { compileSafeParse } from './fast-parse';
import { Level, Pregnancy, RULE_KINDS, VisitType, normalizeCode, type RuleKind } from '../../../rules-cache/model';

const Id = z.string().min(1).max(128);
/**
 * The range of dates a prescription or its history can carry: year 0000 or 9999 is a HIS
 * placeholder, not a date, and date arithmetic on it would fail deep inside a check.
 */
export const EARLIEST_DATE = '1900-01-01';
export const LATEST_DATE = '2199-12-31';
/** A calendar date `YYYY-MM-DD` (zod checks month lengths and leap years) within a sane range. */
const IsoDate = z.iso
  .date('expected a real calendar date as YYYY-MM-DD')
  .refine((value) => value >= EARLIEST_DATE && value <= LATEST_DATE, `expected a date between ${EARLIEST_DATE} and ${LATEST_DATE}`);
const Code = z.string().min(1).max(64).transform(normalizeCode);
const Named = z.object({ code: z.string().min(1).max(64), name: z.string().max(100).optional() });
const Money = z.number().finite().min(0).max(1e9);

export const Patient = z.object({
  id: Id,
  name: z.string().max(100).optional(),
  gender: z.enum(['M', 'F']).optional(),
  birthDate: IsoDate.optional(),
  insurance: z.string().max(16).optional(),
  chronicDiseases: z.array(Named).max(50).optional(),
  /** Rules v2: `pregnant`, `lactating` or `none` (3101 `matn_stas`). */
  pregnancy: Pregnancy.optional(),
});

/**
 * The ordering doctor, with the title (职称) rules v2 compare: the national code (`231` 主任医师
 * … `235` 医士), the words, or `1`–`5` (1 正高 … 5 士级).
 */
export const Doctor = Named.extend({ title: z.union([z.string().trim().min(1).max(32), z.number().int().min(1).max(999)]).optional() });

export const Visit = z.object({
  id: Id,
  type: VisitType,
  medType: z.string().max(16).optional(),
  date: IsoDate,
  dept: Named.optional(),
  doctor: Doctor.optional(),
  hospitalLevel: z.number().int().min(1).max(3).optional(),
});

export const Diagnosis = z.object({
  code: Code,
  name: z.string().max(200).optional(),
  main: z.boolean().optional(),
});

/** `granule` is 中药配方颗粒 (3101 `hilist_type` 106). */
export const ItemCategory = z.enum(['drug', 'herbal', 'granule', 'service', 'material']);

/**
 * What the HIS already declared for a line (限制使用标志): `true` attests every condition the
 * rules ask to confirm, a list only the texts it names exactly.
 */
export const Attested = z.union([z.literal(true), z.array(z.string().trim().min(1).max(200)).min(1).max(50)]);
export const Channel = z.enum(['insured', 'selfpay']);

export const Item = z
  .object({
    line: z.string().min(1).max(64),
    code: Code.optional(),
    hospCode: z.string().min(1).max(64).optional(),
    name: z.string().min(1).max(200),
    category: ItemCategory.default('drug'),
    qty: z.number().finite().min(0).max(1e6).optional(),
    unit: z.string().max(16).optional(),
    price: Money.optional(),
    /** Total for the line; price × qty when absent. */
    amount: Money.optional(),
    days: z.number().int().min(0).max(3650).optional(),
    channel: Channel.default('insured'),
    attested: Attested.optional(),
  })
  .refine((item) => item.code !== undefined || item.hospCode !== undefined, {
    message: 'an item needs a national code or a hospital code',
    path: ['code'],
  });

export const HistoryEntry = z
  .object({
    rxId: z.string().max(64).optional(),
    code: Code.optional(),
    hospCode: z.string().min(1).max(64).optional(),
    name: z.string().max(200).optional(),
    date: IsoDate,
    days: z.number().int().min(0).max(3650).optional(),
    qty: z.number().finite().min(0).max(1e6).optional(),
    amount: Money.optional(),
    dept: Named.optional(),
    doctor: Named.optional(),
    channel: Channel.optional(),
    /** The visit the earlier order belonged to: per-visit and per-admission counts (3101 `mdtrt_id`). */
    visitId: z.string().min(1).max(128).optional(),
  })
  .refine((entry) => entry.code !== undefined || entry.hospCode !== undefined, {
    message: 'a history entry needs a national code or a hospital code',
    path: ['code'],
  });

/** A procedure (ICD-9-CM-3) of this visit, or an earlier one with its date (3101 `fsi_operation_dtos`). */
export const Procedure = z.object({
  code: Code,
  name: z.string().max(200).optional(),
  /** The day of the procedure; absent means this visit. */
  date: IsoDate.optional(),
});
export type Procedure = z.infer<typeof Procedure>;

/** A lab result (hospital or LOINC code); a result without a date is of the visit day. */
export const LabResult = z.object({
  code: Code,
  name: z.string().max(100).optional(),
  value: z.number().finite(),
  unit: z.string().max(32).optional(),
  date: IsoDate.optional(),
});
export type LabResult = z.infer<typeof LabResult>;

export const Check = z.object({
  type: z.literal('check').describe('Required on the WebSocket; HTTP POST /v1/check may leave it out (the address says it).'),
  id: Id,
  ui: z.enum(['popup', 'none']).default('popup'),
  patient: Patient,
  visit: Visit,
  diagnoses: z.array(Diagnosis).max(100).default([]),
  items: z.array(Item).min(1).max(500),
  history: z.array(HistoryEntry).max(5000).default([]),
  /** Rules v2. Absent: not known (conditions on it are to attest); `[]`: known to be none. */
  procedures: z.array(Procedure).max(200).optional(),
  /** Rules v2. Absent or without the code asked for: the lab condition is to attest. */
  labs: z.array(LabResult).max(2000).optional(),
}).superRefine((check, context) => {
  const lines = new Set<string>();
  check.items.forEach((item, index) => {
    if (lines.has(item.line)) {
      context.addIssue({ code: 'custom', message: `duplicate line "${item.line}"`, path: ['items', index, 'line'] });
    }
    lines.add(item.line);
  });
});
export type Check = z.infer<typeof Check>;
/** `Check.safeParse` on the fast path compiled from it: a 60 KB order is checked on every keystroke-save. */
export const parseCheck = compileSafeParse(Check);
export type CheckInput = z.input<typeof Check>;
export type Item = z.infer<typeof Item>;
export type HistoryEntry = z.infer<typeof HistoryEntry>;
export type Diagnosis = z.infer<typeof Diagnosis>;

/** `attest` (符合限定条件): the doctor declares the conditions of `details.confirm` hold. */
export const Action = z.enum(['continue', 'selfpay', 'remove', 'revise', 'attest']);
export type Action = z.infer<typeof Action>;

export const Finding = z.object({
  findingId: z.string(),
  ruleId: z.string(),
  kind: z.enum(RULE_KINDS as [RuleKind, ...RuleKind[]]),
  level: Level,
  lines: z.array(z.string()),
  title: z.string(),
  message: z.string(),
  basis: z.string(),
  actions: z.array(Action),
  details: z.record(z.string(), z.unknown()),
});
export type Finding = z.infer<typeof Finding>;

export const ChronicSummary = z.object({
  disease: Named,
  ruleId: z.string(),
  year: z.number().int(),
  amount: z.number(),
  quantity: z.number(),
  capAmount: z.number().optional(),
  capQuantity: z.number().optional(),
  warnRatio: z.number(),
});
export type ChronicSummary = z.infer<typeof ChronicSummary>;

export const Result = z.enum(['pass', 'warn', 'block', 'unchecked']);
export type Result = z.infer<typeof Result>;

/** Where a check's history can come from. */
export const HISTORY_SOURCES = ['his', 'ledger', 'hub'] as const;
export type HistorySource = (typeof HISTORY_SOURCES)[number];

export const Verdict = z.object({
  type: z.literal('verdict'),
  id: Id,
  result: Result,
  reason: z.string().optional(),
  findings: z.array(Finding),
  /** Year-to-date chronic-disease figures, shown even when nothing fires. */
  chronic: z.array(ChronicSummary).optional(),
  rules: z.object({ version: z.number().int(), source: z.string().optional() }).optional(),
  elapsedMs: z.number(),
  /**
   * With a hospital hub configured: where the patient's history came from — the HIS's
   * `history`, this PC's ledger, the hub (absent when the hub did not answer within its budget).
   */
  historySources: z.array(z.enum(HISTORY_SOURCES)).optional(),
  /** True when the agent is holding the check for the doctor's popup decision. */
  pending: z.boolean().optional(),
});
export type Verdict = z.infer<typeof Verdict>;

export const LineAction = z.object({
  line: z.string().min(1).max(64),
  action: Action,
  /** With `attest`: the condition texts declared (the HIS records 限制使用标志 for the line). */
  attested: z.array(z.string().trim().min(1).max(200)).max(50).optional(),
});
export const FindingReason = z.object({ findingId: z.string().min(1).max(64), reason: z.string().trim().min(1).max(500) });

/** Where a decision comes from: RxGate's popup, or a national-interface HIS's 3103 feedback. */
export const DECISION_SOURCES = ['popup', 'nhsa-3103'] as const;
export type DecisionSource = (typeof DECISION_SOURCES)[number];

export const Decision = z.object({
  type: z.literal('decision'),
  id: Id,
  outcome: z.enum(['proceed', 'revise']),
  lines: z.array(LineAction),
  reasons: z.array(FindingReason),
  at: z.string(),
  /** Where the choice was made: `popup` (the doctor, in RxGate) or `nhsa-3103` (the HIS's feedback). */
  source: z.enum(DECISION_SOURCES).optional(),
});
export type Decision = z.infer<typeof Decision>;

export const Commit = z.object({
  type: z.literal('commit').describe('Required on the WebSocket; HTTP POST /v1/commit may leave it out.'),
  id: Id,
  /** Where the HIS changed the order after the decision, the items as saved. */
  items: z.array(Item).min(1).max(500).optional(),
});
export type Commit = z.infer<typeof Commit>;
/** `Commit.safeParse`, fast: a commit may carry the whole order again. */
export const parseCommit = compileSafeParse(Commit);

export const Cancel = z.object({ type: z.literal('cancel').describe('Required on the WebSocket; HTTP POST /v1/cancel may leave it out.'), id: Id });
export type Cancel = z.infer<typeof Cancel>;

export const StatusRequest = z.object({ type: z.literal('status'), id: Id.optional() });

export const ErrorReply = z.object({
  type: z.literal('error'),
  id: z.string().optional(),
  /** docs/protocol.md section 7 says what each means (generated from error-codes.ts). */
  code: z.enum(ERROR_CODE_NAMES),
  message: z.string(),
  /** JSON path of the (first) bad field. */
  path: z.string().optional(),
  /** Every schema problem of an `invalid` request, when there is more than one. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorReply = z.infer<typeof ErrorReply>;

/** Frames a HIS may send over the WebSocket (the 3101/3103 envelopes are routed before this). */
export const ClientMessage = z.discriminatedUnion('type', [Check, Commit, Cancel, StatusRequest]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** The doctor's choice as the popup hands it to the core (validated before it is accepted). */
export const DoctorChoice = z.object({
  id: Id,
  outcome: z.enum(['proceed', 'revise']),
  lines: z.array(LineAction).default([]),
  reasons: z.array(FindingReason).default([]),
});
export type DoctorChoice = z.infer<typeof DoctorChoice>;

/** The agent's answer to `commit` and `cancel`. */
export const Ack = z.object({
  type: z.literal('ack'),
  of: z.enum(['commit', 'cancel']),
  id: Id,
  /** commit: ledger lines recorded. */
  recorded: z.number().int().optional(),
  /** cancel: whether a popup was open and is now closed. */
  closed: z.boolean().optional(),
});
export type Ack = z.infer<typeof Ack>;
