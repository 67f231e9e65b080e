/**
 * The rule engine: one check against the compiled library and the patient's earlier
 * prescriptions, to a verdict. Pure: no I/O, no clock (the visit date is "today"), no global
 * state; the same inputs always give the same verdict, so the audit trail can replay it.
 */
import type { CompiledRules } from '../../../rules-cache/compile';
import type { RuleKind } from '../../../rules-cache/model';
import type { Check, Finding, Verdict } from '../protocol/messages';
import { checkChronic } from './chronic';
import { buildContext } from './context';
import { checkDays } from './days';
import type { DraftFinding } from './findings';
import { checkHerbal } from './herbal';
import type { PriorPrescription } from './history';
import { checkIndications } from './indication';
import { checkLimits } from './limit';
import { checkRepeats } from './repeat';

/** The verdict without `elapsedMs`, which the caller measures around the whole check. */
export type EngineVerdict = Omit<Verdict, 'elapsedMs'>;

const kindOrder: Readonly<Record<RuleKind, number>> = { indication: 0, chronic: 1, repeat: 2, days: 3, herbal: 4, limit: 5 };

/** Blocks first, then in the order of the lines, so the doctor reads the worst first. */
function compareFindings(a: DraftFinding, b: DraftFinding): number {
  return (
    (a.level === b.level ? 0 : a.level === 'block' ? -1 : 1) ||
    a.firstItem - b.firstItem ||
    kindOrder[a.kind] - kindOrder[b.kind] ||
    a.ruleOrder - b.ruleOrder
  );
}

function unchecked(check: Check, reason: string, rules: CompiledRules | null): EngineVerdict {
  return {
    type: 'verdict',
    id: check.id,
    result: 'unchecked',
    reason,
    findings: [],
    rules: rules ? { version: rules.version, source: rules.source } : undefined,
  };
}

/**
 * Checks one order. `prior` is the patient's earlier prescriptions, usually
 * `mergeHistory(check.history, ledgerRows)`.
 *
 * `result` is the worst level among the findings, `pass` when there are none, and
 * `unchecked` with a reason when there is no usable rule library or the engine fails: never
 * a silent pass. Findings are numbered `f1`, `f2`, … in the order the doctor should read
 * them (blocks first, then by line). `chronic` is present at every chronic-disease visit.
 */
export function evaluate(
  rules: CompiledRules | null,
  check: Check,
  prior: readonly PriorPrescription[],
): EngineVerdict {
  if (rules === null) return unchecked(check, '未加载医保规则库，本次未做检查。', null);
  if (rules.enabledCount === 0) return unchecked(check, `医保规则库(版本 ${rules.version})中没有启用的规则，本次未做检查。`, rules);

  let drafts: DraftFinding[];
  let chronic: Verdict['chronic'];
  try {
    const context = buildContext(rules, check, prior);
    const chronicOutcome = checkChronic(context);
    chronic = chronicOutcome.summaries;
    drafts = [
      ...checkIndications(context),
      ...chronicOutcome.findings,
      ...checkRepeats(context),
      ...checkDays(context),
      ...checkHerbal(context),
      ...checkLimits(context),
    ];
  } catch (error) {
    // A bug must not turn into a silent pass, nor take the agent down with it.
    const detail = error instanceof Error ? error.message : String(error);
    return unchecked(check, `规则检查出错，本次未完成检查：${detail}`, rules);
  }

  drafts.sort(compareFindings);
  // The sort keys stay inside the engine; the finding is exactly the protocol's shape.
  const findings: Finding[] = drafts.map(({ firstItem: _firstItem, ruleOrder: _ruleOrder, ...finding }, index) => ({
    findingId: `f${index + 1}`,
    ...finding,
  }));
  const result = findings.some((finding) => finding.level === 'block')
    ? 'block'
    : findings.length > 0
      ? 'warn'
      : 'pass';

  const verdict: EngineVerdict = {
    type: 'verdict',
    id: check.id,
    result,
    findings,
    rules: { version: rules.version, source: rules.source },
  };
  if (chronic !== undefined) verdict.chronic = chronic;
  return verdict;
}
