/**
 * The rule model (shared/spec/rules.md): JSON is the canonical form of a rule. These zod
 * schemas are the single source of truth for what a rule may say; the rule-pack builder,
 * the SQLite store and the engine all accept only what passes here.
 */
import { z } from 'zod';
import {
  DIAGNOSIS_PATTERN,
  DRUG_PREFIX_PATTERN,
  ITEM_PREFIX_PATTERN,
  PROCEDURE_PREFIX_PATTERN,
  RULE_ID_PATTERN,
  daysGapFitsWindow,
  daysWindowHasDrugs,
  diagnosisRangeInOrder,
  effectiveInOrder,
  herbalExceptHasMax,
  herbalLimitsSomething,
  indicationNamesItems,
  limitCapsOne,
  limitNamesItems,
  normalizeCode,
  prescriberNamesSomething,
  requirementDaysInOrder,
  requirementRestrictsSomething,
  requirementYearsInOrder,
} from './rule-patterns';
import { acceptRule } from './rule-fast-path';

export { normalizeCode };

const normalizedString = z.string().transform(normalizeCode);

/**
 * A national drug-code prefix: a category letter then up to 22 more letters or digits.
 * `X`/`Z` are drugs; other first letters (C 耗材, 00 服务项目...) are allowed because hospitals
 * also restrict materials and services the same way.
 */
export const DrugPrefix = normalizedString.pipe(
  z.string().regex(DRUG_PREFIX_PATTERN, '药品编码前缀应为字母开头的 1–23 位字母数字'),
);

/**
 * A diagnosis pattern: an ICD-10 prefix (`C34`, `E11.9`, `I10.X00`) or a range of
 * three-character categories (`C15-C26`).
 */
export const DiagnosisPattern = normalizedString.pipe(
  z
    .string()
    .regex(DIAGNOSIS_PATTERN, '诊断编码应为 ICD-10 前缀(如 C34、E11.9)或三位类目范围(如 C15-C26)')
    .refine(diagnosisRangeInOrder, '诊断范围的起点不能大于终点'),
);

/** A calendar date `YYYY-MM-DD` (zod checks month lengths and leap years). */
const IsoDate = z.iso.date('日期应为有效的 YYYY-MM-DD');

export const VisitType = z.enum(['outpatient', 'emergency', 'inpatient']);
export type VisitType = z.infer<typeof VisitType>;

export const Level = z.enum(['warn', 'block']);
export type Level = z.infer<typeof Level>;

export const Scope = z
  .object({
    visitTypes: z.array(VisitType).min(1).optional(),
    medTypes: z.array(z.string().min(1)).min(1).optional(),
    insurance: z.array(z.string().min(1)).min(1).optional(),
    hospitalLevels: z.array(z.number().int().min(1).max(3)).min(1).optional(),
    depts: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type Scope = z.infer<typeof Scope>;

const Effective = z
  .object({ from: IsoDate.optional(), to: IsoDate.optional() })
  .strict()
  .refine(effectiveInOrder, '生效起始日期晚于截止日期');

/** Fields every rule kind has. */
const common = {
  id: z.string().trim().min(1).max(64).regex(RULE_ID_PATTERN, '规则编号只能含字母、数字和 _ . - :'),
  level: Level,
  title: z.string().trim().min(1).max(200),
  message: z.string().max(1000).optional(),
  basis: z.string().max(2000).default(''),
  scope: Scope.optional(),
  selfPay: z.boolean().default(true),
  effective: Effective.optional(),
  enabled: z.boolean().default(true),
};

const prefixList = z.array(DrugPrefix);
const hospCodeList = z.array(z.string().trim().min(1).max(64));

/**
 * Rules v2 `codes`: a national code prefix of any item — drugs (`X…`, `Z…`, 中成药 codes are 20
 * characters, 西药 23), medical services (digits first, e.g. `0011020000`) and materials (`C…`).
 */
export const ItemPrefix = normalizedString.pipe(
  z.string().regex(ITEM_PREFIX_PATTERN, '项目编码前缀应为 1–30 位字母数字'),
);
const itemPrefixList = z.array(ItemPrefix);

/** An ICD-9-CM-3 procedure prefix (`81.51`, `36.06`); dots and case are ignored when matching. */
export const ProcedurePrefix = normalizedString.pipe(
  z.string().regex(PROCEDURE_PREFIX_PATTERN, '手术操作编码应为 ICD-9-CM-3 前缀(如 81.51)'),
);

/** Doctor titles from lowest to highest (rules.md v2 `prescriber.titleMin`). */
export const DOCTOR_TITLES = ['assistant', 'physician', 'attending', 'associateChief', 'chief'] as const;
export const DoctorTitle = z.enum(DOCTOR_TITLES);
export type DoctorTitle = z.infer<typeof DoctorTitle>;

export const Pregnancy = z.enum(['pregnant', 'lactating', 'none']);
export type Pregnancy = z.infer<typeof Pregnancy>;

/** Text the doctor attests: short enough to read in one line of the popup. */
const ConfirmText = z.string().trim().min(1).max(200);

const LabRequirement = z
  .object({
    codes: z.array(z.string().trim().min(1).max(64).transform(normalizeCode)).min(1),
    name: z.string().trim().min(1).max(100),
    op: z.enum(['<', '<=', '>', '>=']),
    value: z.number().finite(),
    unit: z.string().trim().max(32).optional(),
    withinDays: z.number().int().min(0).max(3650).optional(),
  })
  .strict();
export type LabRequirement = z.infer<typeof LabRequirement>;

const PriorDrugsRequirement = z
  .object({
    drugs: itemPrefixList.min(1),
    /** How the popup names the group ("一线降糖药"); the prefixes when absent. */
    name: z.string().trim().min(1).max(100).optional(),
    withinDays: z.number().int().min(1).max(3650).optional(),
    minDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

const ProceduresRequirement = z
  .object({
    codes: z.array(ProcedurePrefix).min(1),
    name: z.string().trim().min(1).max(100).optional(),
    withinDays: z.number().int().min(0).max(3650).optional(),
  })
  .strict();

const PrescriberRequirement = z
  .object({
    depts: z.array(z.string().trim().min(1).max(64)).min(1).optional(),
    /** How the popup names the departments ("血液科"); the codes when absent. */
    deptNames: z.string().trim().min(1).max(100).optional(),
    titleMin: DoctorTitle.optional(),
  })
  .strict()
  .refine(prescriberNamesSomething, '需要科室(depts)或最低职称(titleMin)');

const CoPrescribedRequirement = z
  .object({ drugs: itemPrefixList.min(1), name: z.string().trim().min(1).max(100).optional() })
  .strict();

/** The fields of one requirement: all of them must hold (an AND). */
const requirementFields = {
  diagnoses: z.array(DiagnosisPattern).min(1).optional(),
  gender: z.enum(['M', 'F']).optional(),
  ageMin: z.number().int().min(0).max(150).optional(),
  ageMax: z.number().int().min(0).max(150).optional(),
  visitTypes: z.array(VisitType).min(1).optional(),
  insurance: z.array(z.string().min(1)).min(1).optional(),
  hospitalLevelMin: z.number().int().min(1).max(3).optional(),
  confirm: z.union([ConfirmText, z.array(ConfirmText).min(1)]).optional(),
  priorDrugs: PriorDrugsRequirement.optional(),
  procedures: ProceduresRequirement.optional(),
  labs: z.array(LabRequirement).min(1).optional(),
  prescriber: PrescriberRequirement.optional(),
  ageDaysMin: z.number().int().min(0).max(55_000).optional(),
  ageDaysMax: z.number().int().min(0).max(55_000).optional(),
  pregnancy: z.array(Pregnancy).min(1).optional(),
  coPrescribed: CoPrescribedRequirement.optional(),
  excludeDiagnoses: z.array(DiagnosisPattern).min(1).optional(),
};

type RequirementShape = { [K in keyof typeof requirementFields]?: unknown } & {
  ageMin?: number;
  ageMax?: number;
  ageDaysMin?: number;
  ageDaysMax?: number;
};

function checkRequirement(value: RequirementShape, context: z.RefinementCtx): void {
  if (!requirementYearsInOrder(value)) {
    context.addIssue({ code: 'custom', message: '最小年龄大于最大年龄', path: ['ageMin'] });
  }
  if (!requirementDaysInOrder(value)) {
    context.addIssue({ code: 'custom', message: '最小日龄大于最大日龄', path: ['ageDaysMin'] });
  }
  if (!requirementRestrictsSomething(value)) {
    context.addIssue({ code: 'custom', message: '至少需要一个限定条件' });
  }
}

/** One alternative of `anyOf`: the same fields, all of which must hold. */
export const RequirementAlternative = z.object(requirementFields).strict().superRefine(checkRequirement);
export type RequirementAlternative = z.infer<typeof RequirementAlternative>;

/**
 * `require` of an indication rule: an AND of its fields; `anyOf` adds alternatives of which
 * at least one must hold (the NRDL's `；`), and the fields beside it apply to every one.
 */
export const Requirement = z
  .object({ ...requirementFields, anyOf: z.array(RequirementAlternative).min(1).optional() })
  .strict()
  .superRefine(checkRequirement);
export type Requirement = z.infer<typeof Requirement>;

export const IndicationRule = z
  .object({
    ...common,
    kind: z.literal('indication'),
    drugs: prefixList.default([]),
    hospCodes: hospCodeList.default([]),
    codes: itemPrefixList.optional(),
    require: Requirement,
  })
  .strict()
  .refine(indicationNamesItems, {
    message: '需要至少一个药品编码前缀(drugs)、项目编码(codes)或医院编码(hospCodes)',
    path: ['drugs'],
  });

export const ChronicRule = z
  .object({
    ...common,
    kind: z.literal('chronic'),
    disease: z
      .object({
        code: z.string().trim().min(1).max(32),
        name: z.string().trim().min(1).max(100),
        diagnoses: z.array(DiagnosisPattern).default([]),
      })
      .strict(),
    allow: prefixList.default([]),
    allowHospCodes: hospCodeList.default([]),
    caps: z
      .object({
        yearAmount: z.number().positive().optional(),
        yearQuantity: z.number().positive().optional(),
        warnRatio: z.number().gt(0).max(1).default(0.8),
      })
      .strict()
      .optional(),
  })
  .strict();

export const RepeatRule = z
  .object({
    ...common,
    kind: z.literal('repeat'),
    match: z.enum(['generic', 'class']).default('generic'),
    toleranceDays: z.number().int().min(0).max(365).default(0),
    lookbackDays: z.number().int().min(1).max(3650).default(90),
    drugs: prefixList.optional(),
    codes: itemPrefixList.optional(),
    exclude: prefixList.optional(),
    sameOrder: z.boolean().default(true),
  })
  .strict();

export const DaysRule = z
  .object({
    ...common,
    kind: z.literal('days'),
    maxDays: z.number().int().min(1).max(3650),
    drugs: prefixList.optional(),
    codes: itemPrefixList.optional(),
    cumulative: z.boolean().default(false),
    lookbackDays: z.number().int().min(1).max(3650).default(90),
    /**
     * How a course is counted: `rolling` (v1 `cumulative`), `fromFirstUse` (payment ends
     * `maxDays` after the first use of this course) or `admission` (days within this stay).
     */
    window: z.enum(['rolling', 'fromFirstUse', 'admission']).optional(),
    /** `fromFirstUse`: the longest gap between two uses that still continues one course (default 30). */
    gapDays: z.number().int().min(0).max(3650).optional(),
  })
  .strict()
  .refine(daysWindowHasDrugs, {
    message: '按首次使用或单次住院计算的疗程限制须指定药品(drugs 或 codes)',
    path: ['window'],
  })
  .refine(daysGapFitsWindow, {
    message: '间隔天数(gapDays)只用于按首次使用计算的疗程(window: fromFirstUse)',
    path: ['gapDays'],
  });

export const HerbalRule = z
  .object({
    ...common,
    kind: z.literal('herbal'),
    maxItems: z.number().int().min(1).max(200).optional(),
    except: z
      .object({ diagnoses: z.array(DiagnosisPattern).min(1), maxItems: z.number().int().min(1).max(200) })
      .strict()
      .optional(),
    /** Pieces insurance does not pay when the prescription consists only of them (单味/全部不予支付). */
    notAlone: itemPrefixList.min(1).optional(),
    /** Whether 配方颗粒 count with 饮片 (default true). */
    countGranules: z.boolean().optional(),
  })
  .strict()
  .refine(herbalLimitsSomething, {
    message: '需要最多味数(maxItems)或不单独支付的饮片(notAlone)',
    path: ['maxItems'],
  })
  .refine(herbalExceptHasMax, {
    message: '特殊病种味数须与最多味数(maxItems)一起使用',
    path: ['except'],
  });

/** Periods a `limit` rule counts over. */
export const LimitPeriod = z.enum(['day', 'visit', 'admission', 'year', 'lifetime']);
export type LimitPeriod = z.infer<typeof LimitPeriod>;

/** Quantity and frequency caps (每日限1次, 每眼累计不超过9支, 每次住院限…次). */
export const LimitRule = z
  .object({
    ...common,
    kind: z.literal('limit'),
    drugs: prefixList.optional(),
    codes: itemPrefixList.optional(),
    hospCodes: hospCodeList.optional(),
    maxQty: z.number().positive().max(1e6).optional(),
    maxCount: z.number().int().min(1).max(100_000).optional(),
    per: LimitPeriod,
    lookbackDays: z.number().int().min(1).max(36_500).default(3650),
  })
  .strict()
  .refine(limitNamesItems, {
    message: '需要至少一个药品编码前缀(drugs)、项目编码(codes)或医院编码(hospCodes)',
    path: ['codes'],
  })
  .refine(limitCapsOne, {
    message: '须填写最多数量(maxQty)或最多次数(maxCount)之一',
    path: ['maxQty'],
  });

export const Rule = z.discriminatedUnion('kind', [IndicationRule, ChronicRule, RepeatRule, DaysRule, HerbalRule, LimitRule]);
export type Rule = z.infer<typeof Rule>;
export type RuleInput = z.input<typeof Rule>;
export type IndicationRule = z.infer<typeof IndicationRule>;
export type ChronicRule = z.infer<typeof ChronicRule>;
export type RepeatRule = z.infer<typeof RepeatRule>;
export type DaysRule = z.infer<typeof DaysRule>;
export type HerbalRule = z.infer<typeof HerbalRule>;
export type LimitRule = z.infer<typeof LimitRule>;
export type RuleKind = Rule['kind'];
export const RULE_KINDS: readonly RuleKind[] = ['indication', 'chronic', 'repeat', 'days', 'herbal', 'limit'];

/**
 * Bumped whenever what `Rule` accepts or how it fills defaults changes, so that libraries
 * stored by an older build are validated again instead of trusted.
 */
export const RULE_MODEL_VERSION = 2;

/** A whole library as the store, packs and `rules import` see it. */
export interface RuleLibrary {
  version: number;
  /** Where it came from, for status: `demo`, `import`, `pack`. */
  source: string;
  /** ISO timestamps; a pack carries them in its manifest. */
  publishedAt?: string;
  expiresAt?: string;
  rules: Rule[];
}

/** One problem with a rule, naming the rule and the field as a person would look for it. */
export interface RuleProblem {
  /** Position in the source list (0-based) so rules without a usable id can still be found. */
  index: number;
  ruleId?: string;
  /** Dotted path inside the rule, e.g. `require.ageMax` or `drugs.2`. */
  field: string;
  message: string;
}

export class RuleLibraryError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(
      `规则库有 ${problems.length} 处错误: ` +
        problems
          .slice(0, 5)
          .map((p) => `${p.ruleId ?? `#${p.index + 1}`} ${p.field || '(规则)'}: ${p.message}`)
          .join('; ') +
        (problems.length > 5 ? ' …' : ''),
    );
    this.name = 'RuleLibraryError';
  }
}

/**
 * `Rule.safeParse`, quicker on the common case: a rule the fast path is certain of comes back as
 * the same object zod would build; anything else — every rule with a problem among them — is
 * zod's to judge, so errors are always zod's own.
 */
export function parseRule(candidate: unknown): z.ZodSafeParseResult<Rule> {
  const accepted = acceptRule(candidate);
  // rule-fast-path.test.ts holds the fast path to zod's output for valid and hostile rules alike.
  if (accepted !== undefined) return { success: true, data: accepted as Rule };
  return Rule.safeParse(candidate);
}

/**
 * Validates a list of raw rules; returns every problem found, not just the first, so the
 * insurance office fixes a source in one pass. Duplicate ids are a problem too. `parse` is
 * the rule parser (the fast path; the tests pass zod alone to hold the two to one answer).
 */
export function validateRules(
  raw: unknown[],
  parse: (candidate: unknown) => z.ZodSafeParseResult<Rule> = parseRule,
): { rules: Rule[]; problems: RuleProblem[] } {
  const rules: Rule[] = [];
  const problems: RuleProblem[] = [];
  const seen = new Map<string, number>();
  raw.forEach((candidate, index) => {
    const ruleId =
      candidate && typeof candidate === 'object' && typeof (candidate as { id?: unknown }).id === 'string'
        ? ((candidate as { id: string }).id)
        : undefined;
    const parsed = parse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push({ index, ruleId, field: issue.path.join('.'), message: describeIssue(issue) });
      }
      return;
    }
    const earlier = seen.get(parsed.data.id);
    if (earlier !== undefined) {
      problems.push({ index, ruleId, field: 'id', message: `规则编号重复(第 ${earlier + 1} 条已使用)` });
      return;
    }
    seen.set(parsed.data.id, index);
    rules.push(parsed.data);
  });
  return { rules, problems };
}

/** Parses a JSON rule library document (`{version, rules}`, as in shared/examples/rules.json). */
export function parseRuleLibraryDocument(document: unknown, source: string): RuleLibrary {
  const shape = z
    .object({
      version: z.number().int().min(0),
      rules: z.array(z.unknown()),
      publishedAt: z.string().optional(),
      expiresAt: z.string().optional(),
    })
    .passthrough()
    .safeParse(document);
  if (!shape.success) {
    throw new RuleLibraryError(
      shape.error.issues.map((issue) => ({ index: -1, field: issue.path.join('.'), message: describeIssue(issue) })),
    );
  }
  const { rules, problems } = validateRules(shape.data.rules);
  if (problems.length > 0) throw new RuleLibraryError(problems);
  return {
    version: shape.data.version,
    source,
    publishedAt: shape.data.publishedAt,
    expiresAt: shape.data.expiresAt,
    rules,
  };
}

/** zod's messages are English and terse; the insurance office reads these, so say it plainly. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? '缺少必填字段' : `类型错误, 应为 ${issue.expected}`;
    case 'unrecognized_keys':
      return `未知字段: ${issue.keys.join(', ')}`;
    case 'invalid_value':
      return issue.input === undefined ? '缺少必填字段' : `取值无效, 可选: ${issue.values.map(String).join(' / ')}`;
    case 'invalid_union':
      return 'kind 无效, 应为 indication / chronic / repeat / days / herbal / limit 之一';
    case 'too_small':
      return issue.origin === 'array' ? `至少需要 ${String(issue.minimum)} 项` : `不能小于 ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' ? `最多 ${String(issue.maximum)} 项` : `不能大于 ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}
