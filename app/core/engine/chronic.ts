/**
 * `chronic` rules (门诊慢特病用药范围): at a chronic-disease visit every insured drug must be
 * within the scope of a disease the patient is registered for, and the year-to-date amount
 * and quantity of in-scope drugs are held against the disease's yearly caps.
 */
import type { CompiledChronicRule } from '../../../rules-cache/compile';
import { normalizeCode } from '../../../rules-cache/model';
import type { ChronicSummary } from '../protocol/messages';
import { applies, type EvaluationContext, type ItemView } from './context';
import { describeItem, draft, itemNames, lineList, money, renderMessage, type DraftFinding } from './findings';

/**
 * Rule id of the finding raised when the check says the patient is registered for no chronic
 * disease at all (`chronicDiseases: []`) yet the visit is a chronic-disease visit. It is the
 * engine's own finding, not a library rule, hence an id no library uses.
 */
export const UNREGISTERED_CHRONIC_RULE_ID = 'chronic:unregistered';

/** Categories the 用药范围 covers: drugs and 饮片; services and materials are not drugs. */
function isMedicine(category: string | undefined): boolean {
  return category === undefined || category === 'drug' || category === 'herbal';
}

/** The patient's diseases as this visit identifies them, with the rules that apply to each. */
interface IdentifiedDiseases {
  /** Applicable rules of every identified disease, in library order. */
  readonly rules: readonly CompiledChronicRule[];
  /** False when a registered disease has no applicable rule: its scope is unknown here. */
  readonly complete: boolean;
  /** The check said, explicitly, that the patient is registered for nothing. */
  readonly noneRegistered: boolean;
}

function identifyDiseases(context: EvaluationContext): IdentifiedDiseases {
  const { rules } = context;
  const registered = context.check.patient.chronicDiseases;
  if (registered !== undefined) {
    const found: CompiledChronicRule[] = [];
    let complete = true;
    for (const disease of registered) {
      const applicable = (rules.chronicByDisease.get(normalizeCode(disease.code)) ?? []).filter((rule) => applies(rule, context));
      if (applicable.length === 0) complete = false;
      found.push(...applicable);
    }
    return { rules: inLibraryOrder(found), complete, noneRegistered: registered.length === 0 };
  }

  // No registration sent (3101 has no such field): diagnoses that match a rule's
  // `disease.diagnoses` stand for the registration. Every prefix of each diagnosis is a key,
  // and three-character keys also hold the categories of ranges.
  const found: CompiledChronicRule[] = [];
  for (const diagnosis of context.diagnoses) {
    for (let length = 1; length <= diagnosis.length; length += 1) {
      const reached = rules.chronicByDiagnosis.get(diagnosis.slice(0, length));
      if (reached) found.push(...reached);
    }
  }
  return { rules: inLibraryOrder(found.filter((rule) => applies(rule, context))), complete: true, noneRegistered: false };
}

function inLibraryOrder(rules: readonly CompiledChronicRule[]): CompiledChronicRule[] {
  return [...new Set(rules)].sort((a, b) => a.order - b.order);
}

/**
 * The scopes of the patient's diseases, indexed once per check by allowed prefix and hospital
 * code, so each drug and each earlier row costs one lookup per prefix length however many
 * rules the diseases have and however broad their prefixes are.
 */
class ScopeIndex {
  private readonly byPrefix = new Map<string, CompiledChronicRule[]>();
  private readonly byHospCode = new Map<string, CompiledChronicRule[]>();
  /** Answers already worked out this check, by national code: a history repeats a few drugs many times. */
  private readonly byCode = new Map<string, readonly CompiledChronicRule[]>();
  /** The prefix lengths some scope names, shortest first: a code is cut only at these. */
  private readonly lengths: number[];
  /**
   * The distinct prefixes, when few: a code is then compared with each in place instead of being
   * cut into substrings, which on every earlier row of the year was most of what a check allocated.
   */
  private readonly prefixes: string[] | undefined;

  constructor(rules: readonly CompiledChronicRule[]) {
    const lengths = new Set<number>();
    for (const rule of rules) {
      for (const prefix of rule.allowPrefixes) {
        add(this.byPrefix, prefix, rule);
        lengths.add(prefix.length);
      }
      for (const hospCode of rule.allowHospCodes) add(this.byHospCode, hospCode, rule);
    }
    this.lengths = [...lengths].sort((a, b) => a - b);
    this.prefixes = this.byPrefix.size <= FEW_PREFIXES ? [...this.byPrefix.keys()].sort((a, b) => a.length - b.length) : undefined;
  }

  /** The rules whose scope covers a code, each once, in library order. */
  rulesAllowing(code: string | undefined, hospCode: string | undefined): readonly CompiledChronicRule[] {
    let byCode: readonly CompiledChronicRule[] = NO_RULES;
    if (code !== undefined) {
      const known = this.byCode.get(code);
      if (known !== undefined) byCode = known;
      else this.byCode.set(code, (byCode = this.coveringCode(code)));
    }
    const byHospCode = hospCode === undefined ? undefined : this.byHospCode.get(hospCode);
    if (!byHospCode) return byCode;
    return byCode.length === 0 ? byHospCode : inLibraryOrder([...byCode, ...byHospCode]);
  }

  private coveringCode(code: string): readonly CompiledChronicRule[] {
    let first: readonly CompiledChronicRule[] | undefined;
    let found: CompiledChronicRule[] | undefined;
    const count = this.prefixes ? this.prefixes.length : this.lengths.length;
    for (let index = 0; index < count; index += 1) {
      let list: readonly CompiledChronicRule[] | undefined;
      if (this.prefixes) {
        const prefix = this.prefixes[index]!;
        if (code.startsWith(prefix)) list = this.byPrefix.get(prefix);
      } else {
        const length = this.lengths[index]!;
        if (length > code.length) break;
        list = this.byPrefix.get(code.slice(0, length));
      }
      if (!list) continue;
      if (first === undefined) first = list;
      else (found ??= [...first]).push(...list);
    }
    return found ? inLibraryOrder(found) : (first ?? NO_RULES);
  }
}

/** Up to this many distinct prefixes, a code is compared with each rather than cut at each length. */
const FEW_PREFIXES = 64;

const NO_RULES: readonly CompiledChronicRule[] = Object.freeze([]);

function add(map: Map<string, CompiledChronicRule[]>, key: string, rule: CompiledChronicRule): void {
  const list = map.get(key);
  if (!list) map.set(key, [rule]);
  else if (list[list.length - 1] !== rule) list.push(rule);
}

/** What {@link checkChronic} returns: findings, and the summaries the popup always shows. */
export interface ChronicOutcome {
  findings: DraftFinding[];
  /** Undefined when the visit is not a chronic-disease visit. */
  summaries?: ChronicSummary[];
}

/**
 * Checks a chronic-disease visit. A visit is one when its medical type is one that some
 * chronic rule applies at (`14` unless a rule's scope says otherwise).
 *
 * - Registered diseases come from `patient.chronicDiseases`; when the field is absent, visit
 *   diagnoses matching a rule's `disease.diagnoses` stand for it. When it is present but
 *   empty, the patient is registered for nothing: one warning says the visit cannot be
 *   settled as a chronic-disease visit (the HIS may be using the wrong medical type).
 * - An insured drug or 饮片 allowed by none of those diseases' rules is a finding at the
 *   strictest level among them. The check is skipped when a registered disease has no rule
 *   in force here: its scope is unknown, and RxGate does not block on its own ignorance.
 * - Year-to-date figures per rule count insured drug and 饮片 rows of history and ledger dated
 *   in the visit's calendar year up to the visit date and within that rule's `allow` scope,
 *   plus this order's insured in-scope items. The history does not say under which medical
 *   type a row was settled, so an in-scope drug counts whatever the visit; a drug in two
 *   diseases' scopes counts towards both. A cap finding needs at least one in-scope line in
 *   this order: a cap that is already reached is in the summary, but this order adds nothing.
 *
 * Message placeholders for the scope finding: `{drug}`, `{line}`, `{code}`, `{disease}`. Cap
 * findings use the built-in message, since a rule has one template and caps say other things.
 */
export function checkChronic(context: EvaluationContext): ChronicOutcome {
  const medType = context.check.visit.medType;
  if (medType === undefined || !context.rules.chronicMedTypes.has(medType)) return { findings: [] };

  const identified = identifyDiseases(context);
  const medicines = context.items.filter((view) => view.insured && isMedicine(view.item.category));
  const findings: DraftFinding[] = [];

  if (identified.noneRegistered) {
    if (medicines.length > 0) findings.push(unregisteredFinding(medicines));
    return { findings, summaries: [] };
  }
  if (identified.rules.length === 0) return { findings, summaries: [] };

  const scopes = new ScopeIndex(identified.rules);
  const linesOf = new Map<CompiledChronicRule, ItemView[]>();
  const strictest = identified.rules.find((rule) => rule.rule.level === 'block') ?? identified.rules[0]!;
  for (const view of medicines) {
    const allowing = scopes.rulesAllowing(view.code, view.hospCode);
    if (allowing.length === 0 && identified.complete) findings.push(outOfScopeFinding(strictest, identified.rules, view));
    for (const rule of allowing) {
      const lines = linesOf.get(rule);
      if (lines) lines.push(view);
      else linesOf.set(rule, [view]);
    }
  }

  const { summaries, capFindings } = yearToDate(context, identified.rules, scopes, linesOf);
  findings.push(...capFindings);
  return { findings, summaries };
}

function diseaseNames(rules: readonly CompiledChronicRule[]): string {
  return [...new Set(rules.map((rule) => rule.rule.disease.name))].join('、');
}

function outOfScopeFinding(
  strictest: CompiledChronicRule,
  identified: readonly CompiledChronicRule[],
  view: ItemView,
): DraftFinding {
  const rule = strictest.rule;
  const diseases = diseaseNames(identified);
  const fallback = `${view.item.name}不在患者登记的门诊慢特病(${diseases})用药范围内，不能按门诊慢特病报销。`;
  const message = renderMessage(rule.message, fallback, {
    drug: view.item.name,
    line: view.item.line,
    code: view.code ?? view.hospCode,
    disease: diseases,
  });
  return draft(strictest, rule.level, [view], message, {
    reason: 'outOfScope',
    drug: describeItem(view),
    diseases: identified.map((compiled) => ({
      code: compiled.rule.disease.code,
      name: compiled.rule.disease.name,
      ruleId: compiled.rule.id,
    })),
  });
}

function unregisteredFinding(medicines: readonly ItemView[]): DraftFinding {
  return {
    ruleId: UNREGISTERED_CHRONIC_RULE_ID,
    kind: 'chronic',
    level: 'warn',
    lines: medicines.map((view) => view.item.line),
    title: '未登记门诊慢特病',
    message: `本次按门诊慢特病就诊，但患者未登记任何门诊慢特病，${itemNames(medicines)}无法按门诊慢特病报销。请核对医疗类别或患者的慢特病登记。`,
    basis: '门诊慢特病待遇需经登记备案, 按登记病种的用药范围报销',
    actions: ['continue', 'revise'],
    details: { reason: 'unregistered', drugs: medicines.map(describeItem) },
    firstItem: Math.min(...medicines.map((view) => view.index)),
    ruleOrder: -1,
  };
}

interface Totals {
  amount: number;
  quantity: number;
}

function yearToDate(
  context: EvaluationContext,
  identified: readonly CompiledChronicRule[],
  scopes: ScopeIndex,
  linesOf: ReadonlyMap<CompiledChronicRule, readonly ItemView[]>,
): { summaries: ChronicSummary[]; capFindings: DraftFinding[] } {
  const year = Number(context.visitDate.slice(0, 4));
  const yearStart = `${year}-01-01`;
  // Summed in a typed array, two slots a rule: adding fractions to object fields would box a
  // new number on every earlier row of the year, for every rule that allows it.
  const slot = new Map<CompiledChronicRule, number>();
  identified.forEach((rule, index) => slot.set(rule, 2 * index));
  const sums = new Float64Array(2 * identified.length);
  for (const prior of context.history) {
    if (prior.channel !== 'insured' || prior.date < yearStart || prior.date > context.visitDate) continue;
    if (!isMedicine(prior.category)) continue;
    const allowing = scopes.rulesAllowing(prior.code, prior.hospCode);
    // Indexed: for-of here made an iterator result for every earlier row of the year.
    for (let index = 0; index < allowing.length; index += 1) {
      const at = slot.get(allowing[index]!)!;
      sums[at]! += prior.amount ?? 0;
      sums[at + 1]! += prior.qty ?? 0;
    }
  }

  const summaries: ChronicSummary[] = [];
  const capFindings: DraftFinding[] = [];
  for (const compiled of identified) {
    const rule = compiled.rule;
    const lines = linesOf.get(compiled) ?? [];
    const at = slot.get(compiled)!;
    const before = { amount: sums[at]!, quantity: sums[at + 1]! };
    const order = {
      amount: lines.reduce((sum, view) => sum + view.amount, 0),
      quantity: lines.reduce((sum, view) => sum + (view.item.qty ?? 0), 0),
    };
    const total = { amount: money(before.amount + order.amount), quantity: money(before.quantity + order.quantity) };
    const warnRatio = rule.caps?.warnRatio ?? 0.8;
    summaries.push({
      disease: { code: rule.disease.code, name: rule.disease.name },
      ruleId: rule.id,
      year,
      amount: total.amount,
      quantity: total.quantity,
      capAmount: rule.caps?.yearAmount,
      capQuantity: rule.caps?.yearQuantity,
      warnRatio,
    });
    if (!rule.caps || lines.length === 0) continue;
    const finding = capFinding(compiled, lines, before, order, total, warnRatio, year);
    if (finding) capFindings.push(finding);
  }
  return { summaries, capFindings };
}

/** A share in whole percent, rounded down so "80%" is never shown for 79.99%. */
function percent(total: number, cap: number): number {
  return Math.floor((total / cap) * 100 + 1e-9);
}

/** How a total stands against one cap: nothing, a warning from `warnRatio` on, a block above it. */
function capLevel(total: number, cap: number | undefined, warnRatio: number): 'warn' | 'block' | undefined {
  if (cap === undefined) return undefined;
  if (total > cap) return 'block';
  if (total >= warnRatio * cap) return 'warn';
  return undefined;
}

function capFinding(
  compiled: CompiledChronicRule,
  lines: readonly ItemView[],
  before: Totals,
  order: Totals,
  total: Totals,
  warnRatio: number,
  year: number,
): DraftFinding | undefined {
  const rule = compiled.rule;
  const caps = rule.caps!;
  const amountLevel = capLevel(total.amount, caps.yearAmount, warnRatio);
  const quantityLevel = capLevel(total.quantity, caps.yearQuantity, warnRatio);
  if (!amountLevel && !quantityLevel) return undefined;
  const level = amountLevel === 'block' || quantityLevel === 'block' ? 'block' : 'warn';
  const disease = rule.disease.name;
  const sentences: string[] = [];
  if (amountLevel && caps.yearAmount !== undefined) {
    const standing =
      amountLevel === 'block'
        ? `超过年度限额 ${caps.yearAmount} 元`
        : `已达年度限额 ${caps.yearAmount} 元的 ${percent(total.amount, caps.yearAmount)}%`;
    sentences.push(
      `患者${year}年${disease}门慢用药已累计 ${money(before.amount)} 元，加上本次 ${money(order.amount)} 元共 ${total.amount} 元，${standing}。`,
    );
  }
  if (quantityLevel && caps.yearQuantity !== undefined) {
    const standing =
      quantityLevel === 'block'
        ? `超过年度限量 ${caps.yearQuantity}`
        : `已达年度限量 ${caps.yearQuantity} 的 ${percent(total.quantity, caps.yearQuantity)}%`;
    sentences.push(
      `患者${year}年${disease}门慢用药数量已累计 ${money(before.quantity)}，加上本次 ${money(order.quantity)} 共 ${total.quantity}，${standing}。`,
    );
  }
  if (level === 'block') sentences.push(`第 ${lineList(lines)} 行超出年度限额的部分不能按门诊慢特病报销。`);
  return draft(compiled, level, lines, sentences.join(''), {
    reason: 'cap',
    disease: { code: rule.disease.code, name: disease },
    year,
    warnRatio,
    amount:
      caps.yearAmount === undefined
        ? undefined
        : { yearToDate: money(before.amount), thisOrder: money(order.amount), total: total.amount, cap: caps.yearAmount, level: amountLevel ?? null },
    quantity:
      caps.yearQuantity === undefined
        ? undefined
        : {
            yearToDate: money(before.quantity),
            thisOrder: money(order.quantity),
            total: total.quantity,
            cap: caps.yearQuantity,
            level: quantityLevel ?? null,
          },
    drugs: lines.map(describeItem),
  });
}
