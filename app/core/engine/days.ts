/**
 * `days` rules: days-supply limits (处方管理办法: outpatient 7, emergency 3, chronic 30,
 * long-term 84) and per-drug course limits (限疗程).
 */
import type { CompiledDaysRule } from '../../../rules-cache/compile';
import type { DaysRule } from '../../../rules-cache/model';
import { shortDate } from './conditions/outcome';
import { applies, type EvaluationContext, type ItemView, type PriorView } from './context';
import { dateOfDay } from './dates';
import { describeItem, draft, itemNames, lineList, renderMessage, type DraftFinding } from './findings';

/** Prescription lines a general days limit covers: drugs, 饮片 and 配方颗粒 (剂数), not services or materials. */
function isPrescription(view: ItemView): boolean {
  return view.item.category === 'drug' || view.item.category === 'herbal' || view.item.category === 'granule';
}

/** How a rule counts a course, or undefined for a plain per-line limit (v1 `cumulative` is `rolling`). */
function courseWindow(rule: DaysRule): 'rolling' | 'fromFirstUse' | 'admission' | undefined {
  return rule.window ?? (rule.cumulative ? 'rolling' : undefined);
}

/** rules.md v2: a gap of up to 30 days between two uses still continues one course. */
const DEFAULT_GAP_DAYS = 30;

/**
 * Days findings.
 *
 * - A general rule (no `drugs`) limits each drug or 饮片 line's days supply. These limits come
 *   from the prescription regulations (处方管理办法), so they hold whoever pays and 转自费 is
 *   not offered.
 * - A per-drug rule (`drugs`) is "a per-drug limit instead of a general one": where a
 *   non-cumulative per-drug rule applies to a line, the general rules do not (so a per-drug
 *   rule can be looser as well as stricter). A cumulative per-drug rule is a course limit
 *   and is checked besides the general ones. Per-drug limits are the 医保目录's 限疗程
 *   ("最多支付 14 天"): insurance-scope, so self-pay lines are exempt and 转自费 is offered.
 * - `cumulative` adds this order's lines of the same generic and the earlier prescriptions of
 *   it dated within `lookbackDays` (inclusive) of the visit; one finding per generic.
 * - A line without days is not checked: there is nothing to compare.
 *
 * Message placeholders: `{drug}`, `{line}`, `{code}`, `{days}`, `{maxDays}`, and for course
 * limits `{total}`, `{earlierDays}`, `{lookbackDays}`.
 */
export function checkDays(context: EvaluationContext): DraftFinding[] {
  const findings: DraftFinding[] = [];
  const applicable = new Map<CompiledDaysRule, boolean>();
  const isApplicable = (compiled: CompiledDaysRule) => {
    let result = applicable.get(compiled);
    if (result === undefined) {
      result = applies(compiled, context);
      applicable.set(compiled, result);
    }
    return result;
  };
  const courses = new Map<CompiledDaysRule, Map<string, ItemView[]>>();

  for (const view of context.items) {
    if (!view.item.days) continue;
    const perDrug = view.insured ? view.rules.days.filter(isApplicable) : [];
    const replacesGeneral = perDrug.some((compiled) => courseWindow(compiled.rule) === undefined);
    const general = replacesGeneral || !isPrescription(view) ? [] : context.rules.daysGeneral.filter(isApplicable);
    for (const compiled of [...general, ...perDrug].sort((a, b) => a.order - b.order)) {
      if (courseWindow(compiled.rule) !== undefined) {
        let byGeneric = courses.get(compiled);
        if (!byGeneric) courses.set(compiled, (byGeneric = new Map()));
        const group = byGeneric.get(view.identity);
        if (group) group.push(view);
        else byGeneric.set(view.identity, [view]);
      } else if (view.item.days > compiled.rule.maxDays) {
        findings.push(limitFinding(compiled, view));
      }
    }
  }

  for (const [compiled, byGeneric] of courses) {
    for (const group of byGeneric.values()) {
      const finding = courseFinding(compiled, group, context);
      if (finding) findings.push(finding);
    }
  }
  return findings;
}

function limitFinding(compiled: CompiledDaysRule, view: ItemView): DraftFinding {
  const rule = compiled.rule;
  const days = view.item.days ?? 0;
  const fallback = `${view.item.name}开了 ${days} 天用量，超过 ${rule.maxDays} 天的限制。`;
  const message = renderMessage(rule.message, fallback, {
    drug: view.item.name,
    line: view.item.line,
    code: view.code ?? view.hospCode,
    days,
    maxDays: rule.maxDays,
  });
  return draft(compiled, rule.level, [view], message, {
    drug: describeItem(view),
    maxDays: rule.maxDays,
    actual: days,
    cumulative: false,
  });
}

function sameGeneric(group: readonly ItemView[], context: EvaluationContext): PriorView[] {
  const found = new Set<PriorView>();
  for (const view of group) {
    for (const prior of context.priorsByIdentity.get(view.identity) ?? []) found.add(prior);
    if (view.hospCode !== undefined) for (const prior of context.priorsByHospCode.get(view.hospCode) ?? []) found.add(prior);
  }
  return [...found];
}

function earlierOfSameGeneric(group: readonly ItemView[], context: EvaluationContext, lookbackDays: number): PriorView[] {
  return sameGeneric(group, context).filter((prior) => prior.daysAgo <= lookbackDays && (prior.prior.days ?? 0) > 0);
}

function courseFinding(compiled: CompiledDaysRule, group: readonly ItemView[], context: EvaluationContext): DraftFinding | undefined {
  const window = courseWindow(compiled.rule);
  if (window === 'fromFirstUse') return firstUseFinding(compiled, group, context);
  if (window === 'admission') return admissionFinding(compiled, group, context);
  return rollingFinding(compiled, group, context);
}

function describePrior({ prior }: PriorView): Record<string, unknown> {
  return {
    rxId: prior.rxId,
    name: prior.name,
    date: prior.date,
    days: prior.days,
    deptName: prior.deptName,
    doctorName: prior.doctorName,
    source: prior.source,
  };
}

/**
 * `fromFirstUse` (支付不超过14天): the course began at the earliest use reached going back from
 * the visit with no gap longer than `gapDays` between one use's end and the next one's start.
 * A finding when the days from that first use to the visit plus this order's days exceed
 * `maxDays`. Self-pay uses count: the course is the patient's, whoever paid.
 */
function firstUseFinding(compiled: CompiledDaysRule, group: readonly ItemView[], context: EvaluationContext): DraftFinding | undefined {
  const rule = compiled.rule;
  const gapDays = rule.gapDays ?? DEFAULT_GAP_DAYS;
  const earlier = sameGeneric(group, context)
    .filter((prior) => prior.daysAgo >= 0)
    .sort((a, b) => b.day - a.day);
  let firstDay = context.visitDay;
  const course: PriorView[] = [];
  for (const prior of earlier) {
    // A use with unknown days still covers its own day.
    const end = prior.day + Math.max(prior.prior.days ?? 1, 1);
    if (firstDay - end > gapDays) break;
    course.push(prior);
    if (prior.day < firstDay) firstDay = prior.day;
  }
  const orderDays = group.reduce((sum, view) => sum + (view.item.days ?? 0), 0);
  const elapsed = context.visitDay - firstDay;
  const total = elapsed + orderDays;
  if (total <= rule.maxDays) return undefined;
  const first = group[0]!;
  const firstDate = dateOfDay(firstDay);
  const name = itemNames(group);
  const fallback =
    elapsed > 0
      ? `${name}限支付${rule.maxDays}天：${shortDate(firstDate)}首次使用，本次为第${elapsed + 1}天，加上本次 ${orderDays} 天共 ${total} 天。`
      : `${name}限支付${rule.maxDays}天，本次开了 ${orderDays} 天。`;
  const message = renderMessage(rule.message, fallback, {
    drug: name,
    line: lineList(group),
    code: first.code ?? first.hospCode,
    days: orderDays,
    maxDays: rule.maxDays,
    total,
    firstDate,
    courseDay: elapsed + 1,
  });
  return draft(compiled, rule.level, group, message, {
    drugs: group.map(describeItem),
    maxDays: rule.maxDays,
    actual: orderDays,
    course: { window: 'fromFirstUse', gapDays, firstDate, courseDay: elapsed + 1, total, earlier: course.map(describePrior) },
  });
}

/**
 * `admission` (单次住院支付不超过3天): days of the same generic within this inpatient visit —
 * earlier rows of the same `visitId` (history and ledger) plus this order.
 */
function admissionFinding(compiled: CompiledDaysRule, group: readonly ItemView[], context: EvaluationContext): DraftFinding | undefined {
  const rule = compiled.rule;
  const visitId = context.check.visit.id;
  const earlier = sameGeneric(group, context).filter((prior) => prior.prior.visitId === visitId && (prior.prior.days ?? 0) > 0);
  const orderDays = group.reduce((sum, view) => sum + (view.item.days ?? 0), 0);
  const earlierDays = earlier.reduce((sum, prior) => sum + (prior.prior.days ?? 0), 0);
  const total = orderDays + earlierDays;
  if (total <= rule.maxDays) return undefined;
  const first = group[0]!;
  const name = itemNames(group);
  const fallback =
    earlierDays > 0
      ? `${name}单次住院限支付${rule.maxDays}天：本次住院已用 ${earlierDays} 天，加上本次 ${orderDays} 天共 ${total} 天。`
      : `${name}单次住院限支付${rule.maxDays}天，本次开了 ${orderDays} 天。`;
  const message = renderMessage(rule.message, fallback, {
    drug: name,
    line: lineList(group),
    code: first.code ?? first.hospCode,
    days: orderDays,
    maxDays: rule.maxDays,
    total,
    earlierDays,
  });
  return draft(compiled, rule.level, group, message, {
    drugs: group.map(describeItem),
    maxDays: rule.maxDays,
    actual: orderDays,
    course: { window: 'admission', visitId, earlierDays, total, earlier: earlier.map(describePrior) },
  });
}

function rollingFinding(compiled: CompiledDaysRule, group: readonly ItemView[], context: EvaluationContext): DraftFinding | undefined {
  const rule = compiled.rule;
  const earlier = earlierOfSameGeneric(group, context, rule.lookbackDays);
  const orderDays = group.reduce((sum, view) => sum + (view.item.days ?? 0), 0);
  const earlierDays = earlier.reduce((sum, prior) => sum + (prior.prior.days ?? 0), 0);
  const total = orderDays + earlierDays;
  if (total <= rule.maxDays) return undefined;
  const first = group[0]!;
  const fallback =
    earlierDays > 0
      ? `${itemNames(group)}近 ${rule.lookbackDays} 天已开 ${earlierDays} 天，加上本次 ${orderDays} 天共 ${total} 天，超过疗程上限 ${rule.maxDays} 天。`
      : `${itemNames(group)}本次共开 ${orderDays} 天，超过疗程上限 ${rule.maxDays} 天。`;
  const message = renderMessage(rule.message, fallback, {
    drug: itemNames(group),
    line: lineList(group),
    code: first.code ?? first.hospCode,
    days: orderDays,
    maxDays: rule.maxDays,
    total,
    earlierDays,
    lookbackDays: rule.lookbackDays,
  });
  return draft(compiled, rule.level, group, message, {
    drugs: group.map(describeItem),
    maxDays: rule.maxDays,
    actual: orderDays,
    cumulative: {
      lookbackDays: rule.lookbackDays,
      earlierDays,
      total,
      earlier: earlier.map(describePrior),
    },
  });
}
