/**
 * `herbal` rules: the size of a 中药饮片 prescription (一般不超过 20 味, 25 for listed special
 * diseases).
 */
import { applies, type EvaluationContext } from './context';
import { draft, lineList, renderMessage, type DraftFinding } from './findings';

/**
 * Counts the order's `herbal` lines, whoever pays (the limit is a prescribing rule). `except`
 * raises the limit when any visit diagnosis matches it. One finding names every herbal line,
 * since no single line is the one too many; the fix is to revise the prescription.
 *
 * Message placeholders: `{count}`, `{maxItems}` (the limit that applied), `{line}`.
 */
export function checkHerbal(context: EvaluationContext): DraftFinding[] {
  const herbal = context.items.filter((view) => view.item.category === 'herbal');
  if (herbal.length === 0) return [];
  const findings: DraftFinding[] = [];
  for (const compiled of context.rules.herbal) {
    if (!applies(compiled, context)) continue;
    const rule = compiled.rule;
    const exceptIndex = compiled.except ? compiled.except.firstMatch(context.diagnoses) : -1;
    const limit = exceptIndex >= 0 && rule.except ? rule.except.maxItems : rule.maxItems;
    if (herbal.length <= limit) continue;
    const exceptDiagnosis = exceptIndex >= 0 ? context.check.diagnoses[exceptIndex] : undefined;
    const fallback = exceptDiagnosis
      ? `本张中药饮片处方共 ${herbal.length} 味，超过 ${limit} 味的限制(${exceptDiagnosis.name ?? exceptDiagnosis.code} 已放宽至 ${limit} 味)。`
      : `本张中药饮片处方共 ${herbal.length} 味，超过 ${limit} 味的限制。`;
    const message = renderMessage(rule.message, fallback, {
      count: herbal.length,
      maxItems: limit,
      line: lineList(herbal),
    });
    findings.push(
      draft(compiled, rule.level, herbal, message, {
        count: herbal.length,
        maxItems: limit,
        baseMaxItems: rule.maxItems,
        exceptApplied: exceptDiagnosis !== undefined,
        exceptDiagnosis: exceptDiagnosis ? { code: exceptDiagnosis.code, name: exceptDiagnosis.name } : undefined,
      }),
    );
  }
  return findings;
}
