/**
 * `herbal` rules: the size of a 中药饮片 prescription (一般不超过 20 味, 25 for listed special
 * diseases), and pieces insurance does not pay on their own (`notAlone`, 单味使用或全部由
 * 这些饮片组成的复方不予支付). 配方颗粒 count with 饮片 unless a rule says otherwise.
 */
import type { CompiledHerbalRule } from '../../../rules-cache/compile';
import { matchesAnyPrefix } from '../../../rules-cache/codes';
import { applies, type EvaluationContext, type ItemView } from './context';
import { draft, lineList, renderMessage, type DraftFinding } from './findings';

function pieces(context: EvaluationContext, countGranules: boolean): ItemView[] {
  return context.items.filter(
    (view) => view.item.category === 'herbal' || (countGranules && view.item.category === 'granule'),
  );
}

/**
 * Counts the order's herbal (and granule) lines, whoever pays (the limit is a prescribing
 * rule). `except` raises the limit when any visit diagnosis matches it. One finding names
 * every herbal line, since no single line is the one too many; the fix is to revise the
 * prescription.
 *
 * Message placeholders: `{count}`, `{maxItems}` (the limit that applied), `{line}`.
 */
export function checkHerbal(context: EvaluationContext): DraftFinding[] {
  const withGranules = pieces(context, true);
  if (withGranules.length === 0) return [];
  const withoutGranules = pieces(context, false);
  const findings: DraftFinding[] = [];
  for (const compiled of context.rules.herbal) {
    if (!applies(compiled, context)) continue;
    const herbal = compiled.rule.countGranules === false ? withoutGranules : withGranules;
    if (herbal.length === 0) continue;
    const tooMany = sizeFinding(compiled, herbal, context);
    if (tooMany) findings.push(tooMany);
    const alone = notAloneFinding(compiled, herbal);
    if (alone) findings.push(alone);
  }
  return findings;
}

function sizeFinding(compiled: CompiledHerbalRule, herbal: readonly ItemView[], context: EvaluationContext): DraftFinding | undefined {
  const rule = compiled.rule;
  if (rule.maxItems === undefined) return undefined;
  const exceptIndex = compiled.except ? compiled.except.firstMatch(context.diagnoses) : -1;
  const limit = exceptIndex >= 0 && rule.except ? rule.except.maxItems : rule.maxItems;
  if (herbal.length <= limit) return undefined;
  const exceptDiagnosis = exceptIndex >= 0 ? context.check.diagnoses[exceptIndex] : undefined;
  const fallback = exceptDiagnosis
    ? `本张中药饮片处方共 ${herbal.length} 味，超过 ${limit} 味的限制(${exceptDiagnosis.name ?? exceptDiagnosis.code} 已放宽至 ${limit} 味)。`
    : `本张中药饮片处方共 ${herbal.length} 味，超过 ${limit} 味的限制。`;
  const message = renderMessage(rule.message, fallback, {
    count: herbal.length,
    maxItems: limit,
    line: lineList(herbal),
  });
  return draft(compiled, rule.level, herbal, message, {
    count: herbal.length,
    maxItems: limit,
    baseMaxItems: rule.maxItems,
    exceptApplied: exceptDiagnosis !== undefined,
    exceptDiagnosis: exceptDiagnosis ? { code: exceptDiagnosis.code, name: exceptDiagnosis.name } : undefined,
  });
}

/**
 * A prescription made only of `notAlone` pieces is not paid. The finding names the insured
 * lines (self-pay ones are already not claimed); 转自费 fixes it, or adding other pieces.
 */
function notAloneFinding(compiled: CompiledHerbalRule, herbal: readonly ItemView[]): DraftFinding | undefined {
  const rule = compiled.rule;
  if (compiled.notAlone.length === 0) return undefined;
  const only = herbal.every((view) => view.code !== undefined && matchesAnyPrefix(view.code, compiled.notAlone));
  if (!only) return undefined;
  const insured = herbal.filter((view) => view.insured);
  if (insured.length === 0) return undefined;
  const names = [...new Set(herbal.map((view) => view.item.name))].join('、');
  const fallback =
    herbal.length === 1
      ? `${names}单味使用不予医保支付。`
      : `本处方全部由不单独支付的饮片(${names})组成，不予医保支付。`;
  const message = renderMessage(rule.message, fallback, { count: herbal.length, line: lineList(insured), drug: names });
  const finding = draft(compiled, rule.level, insured, message, { notAlone: compiled.notAlone, count: herbal.length });
  finding.actions = notAloneActions(rule.level, rule.selfPay);
  return finding;
}

function notAloneActions(level: 'warn' | 'block', selfPay: boolean): DraftFinding['actions'] {
  const actions: DraftFinding['actions'] = [];
  if (level === 'warn') actions.push('continue');
  if (selfPay) actions.push('selfpay');
  actions.push('remove', 'revise');
  return actions;
}
