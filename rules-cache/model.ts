/**
 * The rule model (shared/spec/rules.md): JSON is the canonical form of a rule. These zod
 * schemas are the single source of truth for what a rule may say; the rule-pack builder,
 * the SQLite store and the engine all accept only what passes here.
 */
import { z } from 'zod';

/** Matching ignores case and spaces, so codes are normalised once, at the edge. */
export function normalizeCode(code: string): string {
  return code.replace(/\s+/g, '').toUpperCase();
}

const normalizedString = z.string().transform(normalizeCode);

/**
 * A national drug-code prefix: a category letter then up to 22 more letters or digits.
 * `X`/`Z` are drugs; other first letters (C 耗材, 00 服务项目...) are allowed because hospitals
 * also restrict materials and services the same way.
 */
export const DrugPrefix = normalizedString.pipe(
  z.string().regex(/^[A-Z][A-Z0-9]{0,22}$/, '药品编码前缀应为字母开头的 1–23 位字母数字'),
);

/**
 * A diagnosis pattern: an ICD-10 prefix (`C34`, `E11.9`, `I10.X00`) or a range of
 * three-character categories (`C15-C26`).
 */
export const DiagnosisPattern = normalizedString.pipe(
  z
    .string()
    .regex(
      /^(?:[A-Z](?:\d{1,2}(?:\.[0-9A-Z]*)?)?|[A-Z]\d{2}-[A-Z]\d{2})$/,
      '诊断编码应为 ICD-10 前缀(如 C34、E11.9)或三位类目范围(如 C15-C26)',
    )
    .refine((pattern) => {
      const range = /^([A-Z]\d{2})-([A-Z]\d{2})$/.exec(pattern);
      return !range || range[1]! <= range[2]!;
    }, '诊断范围的起点不能大于终点'),
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
  .refine((value) => !value.from || !value.to || value.from <= value.to, '生效起始日期晚于截止日期');

/** Fields every rule kind has. */
const common = {
  id: z.string().trim().min(1).max(64).regex(/^[\w.\-:]+$/, '规则编号只能含字母、数字和 _ . - :'),
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

export const IndicationRule = z
  .object({
    ...common,
    kind: z.literal('indication'),
    drugs: prefixList.default([]),
    hospCodes: hospCodeList.default([]),
    require: z
      .object({
        diagnoses: z.array(DiagnosisPattern).min(1).optional(),
        gender: z.enum(['M', 'F']).optional(),
        ageMin: z.number().int().min(0).max(150).optional(),
        ageMax: z.number().int().min(0).max(150).optional(),
        visitTypes: z.array(VisitType).min(1).optional(),
        insurance: z.array(z.string().min(1)).min(1).optional(),
        hospitalLevelMin: z.number().int().min(1).max(3).optional(),
      })
      .strict()
      .refine((r) => r.ageMin === undefined || r.ageMax === undefined || r.ageMin <= r.ageMax, {
        message: '最小年龄大于最大年龄',
        path: ['ageMin'],
      })
      .refine((r) => Object.values(r).some((value) => value !== undefined), '至少需要一个限定条件'),
  })
  .strict()
  .refine((rule) => rule.drugs.length + rule.hospCodes.length > 0, {
    message: '需要至少一个药品编码前缀(drugs)或医院编码(hospCodes)',
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
    cumulative: z.boolean().default(false),
    lookbackDays: z.number().int().min(1).max(3650).default(90),
  })
  .strict();

export const HerbalRule = z
  .object({
    ...common,
    kind: z.literal('herbal'),
    maxItems: z.number().int().min(1).max(200),
    except: z
      .object({ diagnoses: z.array(DiagnosisPattern).min(1), maxItems: z.number().int().min(1).max(200) })
      .strict()
      .optional(),
  })
  .strict();

export const Rule = z.discriminatedUnion('kind', [IndicationRule, ChronicRule, RepeatRule, DaysRule, HerbalRule]);
export type Rule = z.infer<typeof Rule>;
export type RuleInput = z.input<typeof Rule>;
export type IndicationRule = z.infer<typeof IndicationRule>;
export type ChronicRule = z.infer<typeof ChronicRule>;
export type RepeatRule = z.infer<typeof RepeatRule>;
export type DaysRule = z.infer<typeof DaysRule>;
export type HerbalRule = z.infer<typeof HerbalRule>;
export type RuleKind = Rule['kind'];
export const RULE_KINDS: readonly RuleKind[] = ['indication', 'chronic', 'repeat', 'days', 'herbal'];

/**
 * Bumped whenever what `Rule` accepts or how it fills defaults changes, so that libraries
 * stored by an older build are validated again instead of trusted.
 */
export const RULE_MODEL_VERSION = 1;

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
 * Validates a list of raw rules; returns every problem found, not just the first, so the
 * insurance office fixes a source in one pass. Duplicate ids are a problem too.
 */
export function validateRules(raw: unknown[]): { rules: Rule[]; problems: RuleProblem[] } {
  const rules: Rule[] = [];
  const problems: RuleProblem[] = [];
  const seen = new Map<string, number>();
  raw.forEach((candidate, index) => {
    const ruleId =
      candidate && typeof candidate === 'object' && typeof (candidate as { id?: unknown }).id === 'string'
        ? ((candidate as { id: string }).id)
        : undefined;
    const parsed = Rule.safeParse(candidate);
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
      return `取值无效, 可选: ${issue.values.map(String).join(' / ')}`;
    case 'invalid_union':
      return 'kind 无效, 应为 indication / chronic / repeat / days / herbal 之一';
    case 'too_small':
      return issue.origin === 'array' ? `至少需要 ${String(issue.minimum)} 项` : `不能小于 ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' ? `最多 ${String(issue.maximum)} 项` : `不能大于 ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}
