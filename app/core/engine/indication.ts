/**
 * `indication` rules (限定支付范围): a restricted item is reimbursed only when its rule's
 * requirement holds. Each alternative (`require` alone, or `require` with one `anyOf` entry)
 * is met, needs attestation (every coded condition met, only conditions to confirm left), or
 * failed. Any alternative met: no finding. Otherwise a finding that either asks the doctor to
 * confirm (action `attest`) or says what failed in each alternative.
 */
import type { CompiledIndicationRule, CompiledRequirement } from '../../../rules-cache/compile';
import { coPrescribedCondition } from './conditions/co-prescribed';
import { diagnosesCondition, excludeDiagnosesCondition } from './conditions/diagnoses';
import { labsCondition } from './conditions/labs';
import type { Condition, ConditionResult, FailedRequirement } from './conditions/outcome';
import { ageCondition, ageDaysCondition, genderCondition, pregnancyCondition } from './conditions/patient';
import { prescriberCondition } from './conditions/prescriber';
import { priorDrugsCondition } from './conditions/prior-drugs';
import { proceduresCondition } from './conditions/procedures';
import { hospitalLevelCondition, insuranceCondition, visitTypeCondition } from './conditions/visit';
import { applies, type EvaluationContext, type ItemView } from './context';
import { describeItem, draft, renderMessage, type DraftFinding } from './findings';

export type { FailedRequirement } from './conditions/outcome';

/**
 * Every condition kind, in the order failures are listed (the v1 order first). `confirm` is
 * last so that the texts to attest read coded conditions first, then the clinical one.
 */
const conditions: readonly Condition[] = [
  diagnosesCondition,
  genderCondition,
  ageCondition,
  visitTypeCondition,
  insuranceCondition,
  hospitalLevelCondition,
  ageDaysCondition,
  pregnancyCondition,
  excludeDiagnosesCondition,
  coPrescribedCondition,
  priorDrugsCondition,
  proceduresCondition,
  labsCondition,
  prescriberCondition,
  (requirement, _view, _context, result) => {
    result.confirm.push(...requirement.confirm);
  },
];

function evaluateRequirement(requirement: CompiledRequirement, view: ItemView, context: EvaluationContext): ConditionResult {
  const result: ConditionResult = { failed: [], confirm: [] };
  for (const condition of conditions) condition(requirement, view, context, result);
  return result;
}

/** One alternative's outcome for one item. */
export interface AlternativeOutcome {
  readonly status: 'met' | 'attest' | 'failed';
  readonly failed: readonly FailedRequirement[];
  /** Texts still to attest (after what the HIS already attested for the line). */
  readonly confirm: readonly string[];
}

/** Whether the HIS's `attested` for a line covers a text: `true` covers all, a list names them exactly. */
function attestedBy(attested: true | readonly string[] | undefined, text: string): boolean {
  return attested === true || (attested !== undefined && attested.includes(text));
}

/** The outcome of every alternative of a rule for one item. */
export function alternativeOutcomes(compiled: CompiledIndicationRule, view: ItemView, context: EvaluationContext): AlternativeOutcome[] {
  const base = evaluateRequirement(compiled.requirement, view, context);
  const combined =
    compiled.alternatives.length === 0
      ? [base]
      : compiled.alternatives.map((alternative) => {
          const own = evaluateRequirement(alternative, view, context);
          return { failed: [...base.failed, ...own.failed], confirm: [...base.confirm, ...own.confirm] };
        });
  const attested = view.item.attested;
  return combined.map(({ failed, confirm }) => {
    // Most rules ask nothing to confirm: no set or filter for them on the hot path.
    const open = confirm.length === 0 ? confirm : [...new Set(confirm)].filter((text) => !attestedBy(attested, text));
    const status = failed.length > 0 ? 'failed' : open.length > 0 ? 'attest' : 'met';
    return { status, failed, confirm: open };
  });
}

/**
 * One finding for each insured item of a restricted item whose requirement does not hold.
 * Self-pay items are exempt: the restriction is on what insurance pays for.
 *
 * Message placeholders: `{drug}`, `{line}`, `{code}`, `{failed}` (the failed requirements in
 * words), `{confirm}` (the conditions to attest), `{diagnoses}` (the visit's diagnoses), `{age}`.
 */
export function checkIndications(context: EvaluationContext): DraftFinding[] {
  const findings: DraftFinding[] = [];
  for (const view of context.items) {
    if (!view.insured) continue;
    const rules = view.rules.indication;
    // Indexed: for-of over this (frozen) list made an iterator result per rule and line.
    for (let index = 0; index < rules.length; index += 1) {
      const compiled = rules[index]!;
      if (!applies(compiled, context)) continue;
      const outcomes = alternativeOutcomes(compiled, view, context);
      if (outcomes.some((outcome) => outcome.status === 'met')) continue;
      findings.push(indicationFinding(compiled, view, outcomes, context));
    }
  }
  return findings;
}

function indicationFinding(
  compiled: CompiledIndicationRule,
  view: ItemView,
  outcomes: readonly AlternativeOutcome[],
  context: EvaluationContext,
): DraftFinding {
  const rule = compiled.rule;
  const multiple = compiled.alternatives.length > 0;
  const failed = outcomes.flatMap((outcome) => outcome.failed);
  const attestable = outcomes.filter((outcome) => outcome.status === 'attest');
  const confirm = [...new Set(attestable.flatMap((outcome) => outcome.confirm))];
  const failedText = multiple
    ? outcomes
        .filter((outcome) => outcome.status === 'failed')
        .map((outcome) => outcome.failed.map((failure) => failure.text).join('，'))
        .join('；或')
    : failed.map((failure) => failure.text).join('；');
  const confirmText = attestable.map((outcome) => outcome.confirm.join('，')).join('；或');
  const fallback =
    attestable.length > 0
      ? `${view.item.name}属医保限定支付药品，需医生确认：${confirmText}。`
      : multiple
        ? `${view.item.name}属医保限定支付药品，本次不符合任一限定条件：${failedText}。`
        : `${view.item.name}属医保限定支付药品，本次不符合：${failedText}。`;
  const message = renderMessage(rule.message, fallback, {
    drug: view.item.name,
    line: view.item.line,
    code: view.code ?? view.hospCode,
    failed: failedText,
    confirm: confirmText,
    diagnoses: context.check.diagnoses.map((diagnosis) => diagnosis.name ?? diagnosis.code).join('、'),
    age: context.age,
  });
  const details: Record<string, unknown> = { drug: describeItem(view), failed };
  if (attestable.length > 0) details.confirm = confirm;
  if (multiple || attestable.length > 0) {
    details.unmet = outcomes.map((outcome) => ({
      status: outcome.status,
      failed: outcome.failed.map((failure) => failure.text),
      confirm: outcome.confirm,
    }));
  }
  const finding = draft(compiled, rule.level, [view], message, details);
  // Attesting is the 限制使用标志 declaration: it resolves a block as well as a warning.
  if (attestable.length > 0) finding.actions.unshift('attest');
  return finding;
}
