/**
 * `limit` rules: quantity and frequency caps on a group of items (每眼累计不超过9支, 每日限1次,
 * 每次住院限…次). This order's lines of the group plus the patient's earlier insured lines in
 * the period (history and ledger, de-duplicated) are counted against one cap.
 */
import type { CompiledLimitRule } from '../../../rules-cache/compile';
import { matchesAnyPrefix } from '../../../rules-cache/codes';
import { applies, priorView, type EvaluationContext, type ItemView, type PriorView } from './context';
import { describeItem, draft, itemNames, lineList, money, renderMessage, type DraftFinding } from './findings';

const periodNames = { day: '每日', visit: '每次就诊', admission: '每次住院', year: '每年', lifetime: '累计' } as const;

/** Whether an earlier line falls in the rule's period at this visit. */
function inPeriod(compiled: CompiledLimitRule, prior: PriorView, context: EvaluationContext): boolean {
  if (prior.daysAgo < 0) return false;
  switch (compiled.rule.per) {
    case 'day':
      return prior.daysAgo === 0;
    case 'visit':
    case 'admission':
      return prior.prior.visitId === context.check.visit.id;
    case 'year':
      return prior.prior.date.slice(0, 4) === context.visitDate.slice(0, 4);
    case 'lifetime':
      return prior.daysAgo <= compiled.rule.lookbackDays;
  }
}

function inGroup(compiled: CompiledLimitRule, code: string | undefined, hospCode: string | undefined): boolean {
  if (code !== undefined && matchesAnyPrefix(code, compiled.prefixes)) return true;
  return hospCode !== undefined && compiled.hospCodes.includes(hospCode);
}

/**
 * One finding per rule whose cap this order passes, naming every insured line of the group.
 * `maxQty` adds quantities (a line without one counts 1), `maxCount` counts lines.
 *
 * Message placeholders: `{drug}`, `{line}`, `{max}`, `{earlier}`, `{current}`, `{total}`, `{period}`.
 */
export function checkLimits(context: EvaluationContext): DraftFinding[] {
  const groups = new Map<CompiledLimitRule, ItemView[]>();
  for (const view of context.items) {
    if (!view.insured) continue;
    for (const compiled of view.rules.limit) {
      const group = groups.get(compiled);
      if (group) group.push(view);
      else groups.set(compiled, [view]);
    }
  }
  const findings: DraftFinding[] = [];
  for (const [compiled, group] of groups) {
    if (!applies(compiled, context)) continue;
    const rule = compiled.rule;
    const byQuantity = rule.maxQty !== undefined;
    const max = rule.maxQty ?? rule.maxCount ?? 0;
    const measure = (qty: number | undefined) => (byQuantity ? (qty ?? 1) : 1);
    const earlier: PriorView[] = [];
    for (const prior of context.history) {
      if (prior.channel !== 'insured' || !inGroup(compiled, prior.code, prior.hospCode)) continue;
      const view = priorView(prior, context.visitDay);
      if (inPeriod(compiled, view, context)) earlier.push(view);
    }
    const earlierTotal = money(earlier.reduce((sum, prior) => sum + measure(prior.prior.qty), 0));
    const current = money(group.reduce((sum, view) => sum + measure(view.item.qty), 0));
    const total = money(earlierTotal + current);
    if (total <= max) continue;
    const unit = byQuantity ? (group[0]!.item.unit ?? '') : '次';
    const period = periodNames[rule.per];
    const fallback =
      earlierTotal > 0
        ? `${itemNames(group)}${period}最多支付 ${max}${unit}：此前已用 ${earlierTotal}${unit}，本次 ${current}${unit}，共 ${total}${unit}。`
        : `${itemNames(group)}${period}最多支付 ${max}${unit}，本次 ${current}${unit}。`;
    const message = renderMessage(rule.message, fallback, {
      drug: itemNames(group),
      line: lineList(group),
      max,
      earlier: earlierTotal,
      current,
      total,
      period,
    });
    findings.push(
      draft(compiled, rule.level, group, message, {
        items: group.map(describeItem),
        per: rule.per,
        measure: byQuantity ? 'qty' : 'count',
        max,
        used: earlierTotal,
        current,
        total,
        earlier: earlier.map(({ prior }) => ({
          rxId: prior.rxId,
          name: prior.name,
          date: prior.date,
          qty: prior.qty,
          deptName: prior.deptName,
          doctorName: prior.doctorName,
          source: prior.source,
        })),
      }),
    );
  }
  return findings;
}
