/**
 * `repeat` rules (重复开药): the same generic, or another drug of the same therapeutic class,
 * prescribed while an earlier supply still lasts, or twice inside one order.
 */
import { matchesAnyPrefix } from '../../../rules-cache/codes';
import type { CompiledRepeatRule } from '../../../rules-cache/compile';
import { addDays } from './dates';
import { applies, type EvaluationContext, type ItemView, type PriorView } from './context';
import { describeItem, draft, itemNames, lineList, renderMessage, type DraftFinding } from './findings';

/** The earlier prescription a repeat finding names. */
export interface EarlierPrescription {
  rxId?: string;
  name?: string;
  code?: string;
  date: string;
  /** The day its supply runs out (start + days, as rules.md counts); absent for a line of this order. */
  endDate?: string;
  days?: number;
  daysLeft?: number;
  deptCode?: string;
  deptName?: string;
  doctorCode?: string;
  doctorName?: string;
  /** `history` (the HIS sent it), `ledger` (this PC recorded it), `order` (this same order). */
  source: 'history' | 'ledger' | 'order';
  /** For `order`: the line of this order. */
  line?: string;
}

function passesFilters(compiled: CompiledRepeatRule, code: string | undefined): boolean {
  if (compiled.drugs && (code === undefined || !matchesAnyPrefix(code, compiled.drugs))) return false;
  if (code !== undefined && compiled.exclude.length > 0 && matchesAnyPrefix(code, compiled.exclude)) return false;
  return true;
}

/** Days of an earlier supply still left on the visit date: it ends at start + days. */
function daysLeft(prior: PriorView, visitDay: number): number {
  return prior.day + (prior.prior.days ?? 0) - visitDay;
}

function candidatePriors(compiled: CompiledRepeatRule, view: ItemView, context: EvaluationContext): readonly PriorView[] {
  if (compiled.rule.match === 'class') {
    // A different generic of the same class; the same generic is the generic rule's finding.
    if (view.therapeuticClass === undefined) return [];
    return (context.priorsByClass.get(view.therapeuticClass) ?? []).filter((prior) => prior.identity !== view.identity);
  }
  const byIdentity = context.priorsByIdentity.get(view.identity) ?? [];
  const byHospCode = view.hospCode === undefined ? [] : context.priorsByHospCode.get(view.hospCode) ?? [];
  if (byHospCode.length === 0) return byIdentity;
  return [...new Set([...byIdentity, ...byHospCode])];
}

/**
 * The earlier prescription with the most supply left that this rule counts, if any: within
 * `lookbackDays` of the visit (a prescription exactly that many days old still counts), with
 * a known days supply, and more than `toleranceDays` left.
 */
function earliestConflict(compiled: CompiledRepeatRule, view: ItemView, context: EvaluationContext): { best: PriorView; others: number } | undefined {
  const rule = compiled.rule;
  let best: PriorView | undefined;
  let bestLeft = -Infinity;
  let count = 0;
  for (const prior of candidatePriors(compiled, view, context)) {
    const category = prior.prior.category;
    if (category !== undefined && category !== 'drug') continue;
    if (prior.daysAgo > rule.lookbackDays || !prior.prior.days) continue;
    if (!passesFilters(compiled, prior.prior.code)) continue;
    const left = daysLeft(prior, context.visitDay);
    if (left <= rule.toleranceDays) continue;
    count += 1;
    if (left > bestLeft) {
      best = prior;
      bestLeft = left;
    }
  }
  return best ? { best, others: count - 1 } : undefined;
}

function describeEarlier(prior: PriorView, visitDay: number): EarlierPrescription {
  const entry = prior.prior;
  return {
    rxId: entry.rxId,
    name: entry.name,
    code: entry.code ?? entry.hospCode,
    date: entry.date,
    endDate: addDays(entry.date, entry.days ?? 0),
    days: entry.days,
    daysLeft: daysLeft(prior, visitDay),
    deptCode: entry.deptCode,
    deptName: entry.deptName,
    doctorCode: entry.doctorCode,
    doctorName: entry.doctorName,
    source: entry.source,
  };
}

/** `2026-11-20 心内科 王医生`, leaving out what the history did not say. */
function whoAndWhen(earlier: EarlierPrescription): string {
  return [earlier.date, earlier.deptName, earlier.doctorName].filter(Boolean).join(' ');
}

/**
 * Repeat findings. Every drug line is checked, self-pay or insured: a second supply of the
 * same drug is a safety and fund problem whoever pays, so 转自费 is not offered as the fix.
 *
 * Message placeholders: `{drug}`, `{line}`, `{code}`, `{days}` (this line's days),
 * `{earlierDrug}`, `{date}`, `{dept}`, `{doctor}`, `{earlierDays}`, `{daysLeft}`, `{endDate}`,
 * `{class}`; for duplicates inside the order `{drug}` and `{line}` list every line.
 */
export function checkRepeats(context: EvaluationContext): DraftFinding[] {
  const findings: DraftFinding[] = [];
  const applicable = new Map<CompiledRepeatRule, boolean>();
  const linesOfRule = new Map<CompiledRepeatRule, ItemView[]>();
  const isApplicable = (compiled: CompiledRepeatRule) => {
    let result = applicable.get(compiled);
    if (result === undefined) {
      result = applies(compiled, context);
      applicable.set(compiled, result);
    }
    return result;
  };

  for (const view of context.items) {
    if (view.item.category !== 'drug') continue;
    const rules = mergeRules(context.rules.repeatGeneral, view.rules.repeat);
    // Indexed: for-of over these (frozen) lists made an iterator result per rule and line.
    for (let index = 0; index < rules.length; index += 1) {
      const compiled = rules[index]!;
      if (!isApplicable(compiled) || !passesFilters(compiled, view.code)) continue;
      const lines = linesOfRule.get(compiled);
      if (lines) lines.push(view);
      else linesOfRule.set(compiled, [view]);
      const conflict = earliestConflict(compiled, view, context);
      if (conflict) findings.push(historyFinding(compiled, view, conflict.best, conflict.others, context));
    }
  }

  for (const [compiled, lines] of linesOfRule) {
    if (compiled.rule.sameOrder && lines.length > 1) findings.push(...sameOrderFindings(compiled, lines, context));
  }
  return findings;
}

function mergeRules(general: readonly CompiledRepeatRule[], specific: readonly CompiledRepeatRule[]): readonly CompiledRepeatRule[] {
  if (specific.length === 0) return general;
  if (general.length === 0) return specific;
  return [...general, ...specific].sort((a, b) => a.order - b.order);
}

function historyFinding(
  compiled: CompiledRepeatRule,
  view: ItemView,
  prior: PriorView,
  others: number,
  context: EvaluationContext,
): DraftFinding {
  const rule = compiled.rule;
  const earlier = describeEarlier(prior, context.visitDay);
  const earlierDrug = earlier.name ?? earlier.code ?? '';
  const fallback =
    rule.match === 'class'
      ? `${view.item.name}与 ${whoAndWhen(earlier)} 开具的${earlierDrug}属同一类药(ATC ${view.therapeuticClass ?? ''})，前次药量还剩 ${earlier.daysLeft} 天未用完。`
      : `${view.item.name}重复开药：${whoAndWhen(earlier)} 已开${earlierDrug} ${earlier.days} 天，还剩 ${earlier.daysLeft} 天未用完。`;
  const message = renderMessage(rule.message, fallback, {
    drug: view.item.name,
    line: view.item.line,
    code: view.code ?? view.hospCode,
    days: view.item.days,
    earlierDrug,
    date: earlier.date,
    dept: earlier.deptName,
    doctor: earlier.doctorName,
    earlierDays: earlier.days,
    daysLeft: earlier.daysLeft,
    endDate: earlier.endDate,
    class: view.therapeuticClass,
  });
  return draft(compiled, rule.level, [view], message, {
    match: rule.match,
    drug: describeItem(view),
    therapeuticClass: rule.match === 'class' ? view.therapeuticClass : undefined,
    earlier,
    otherEarlier: others,
    toleranceDays: rule.toleranceDays,
    lookbackDays: rule.lookbackDays,
  });
}

function sameOrderFindings(compiled: CompiledRepeatRule, lines: readonly ItemView[], context: EvaluationContext): DraftFinding[] {
  const rule = compiled.rule;
  const groups = new Map<string, ItemView[]>();
  for (const view of lines) {
    const key = rule.match === 'class' ? view.therapeuticClass : view.identity;
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(view);
    else groups.set(key, [view]);
  }
  const findings: DraftFinding[] = [];
  for (const [key, group] of groups) {
    if (group.length < 2) continue;
    if (rule.match === 'class' && new Set(group.map((view) => view.identity)).size < 2) continue;
    const first = group[0]!;
    const fallback =
      rule.match === 'class'
        ? `本次医嘱中${itemNames(group)}(第 ${lineList(group)} 行)属同一类药(ATC ${key})，重复使用。`
        : `本次医嘱第 ${lineList(group)} 行重复开具${itemNames(group)}(同一通用名)。`;
    const message = renderMessage(rule.message, fallback, {
      drug: itemNames(group),
      line: lineList(group),
      code: first.code ?? first.hospCode,
      days: first.item.days,
      earlierDrug: first.item.name,
      class: rule.match === 'class' ? key : first.therapeuticClass,
    });
    const earlier: EarlierPrescription = {
      name: first.item.name,
      code: first.code ?? first.hospCode,
      date: context.visitDate,
      days: first.item.days,
      deptCode: context.check.visit.dept?.code,
      deptName: context.check.visit.dept?.name,
      doctorCode: context.check.visit.doctor?.code,
      doctorName: context.check.visit.doctor?.name,
      source: 'order',
      line: first.item.line,
    };
    findings.push(
      draft(compiled, rule.level, group, message, {
        match: rule.match,
        sameOrder: true,
        drugs: group.map(describeItem),
        therapeuticClass: rule.match === 'class' ? key : undefined,
        earlier,
      }),
    );
  }
  return findings;
}
